//! What the CSV upload files share: the writer and how numbers are written.

/// A CSV writer into memory with RFC 4180 line ends.
pub(super) fn csv_writer(flexible: bool) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().flexible(flexible).terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

/// The written file as text.
pub(super) fn finish(w: csv::Writer<Vec<u8>>) -> anyhow::Result<String> {
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("writing the CSV: {e}"))?;
    Ok(String::from_utf8(bytes)?)
}

/// A value as the files write it: the shortest decimal that reads back the same (`49.9`, `10`).
pub(super) fn number(v: f64) -> String {
    format!("{v}")
}

//! From the bytes of an uploaded file to text and its field separator:
//! UTF-8 (a byte-order mark is dropped) or UTF-16 with a byte-order mark
//! (what Google Ads writes for "Excel .csv"), commas or tabs.

use super::Refused;
use std::borrow::Cow;

/// The file's text. UTF-16 needs a byte-order mark; anything else must be UTF-8.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, Refused> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest);
    }
    let utf16 = |rest: &[u8], le: bool| -> Result<Cow<'_, str>, Refused> {
        if !rest.len().is_multiple_of(2) {
            return Err(Refused::file("the file starts like UTF-16 but has an odd number of bytes"));
        }
        let units = rest.chunks_exact(2).map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) });
        let mut out = String::with_capacity(rest.len() / 2);
        for (i, c) in char::decode_utf16(units).enumerate() {
            match c {
                Ok(c) => out.push(c),
                Err(_) => {
                    let line = out.bytes().filter(|&b| b == b'\n').count() as u64 + 1;
                    return Err(Refused::at(line, format!("not valid UTF-16 (code unit {i})")));
                }
            }
        }
        Ok(Cow::Owned(out))
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, false);
    }
    utf8(bytes)
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, Refused> {
    std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        Refused::at(line, "not UTF-8 text; save the file as UTF-8 (or UTF-16 with a byte-order mark)")
    })
}

/// Tab when the start of the file holds more tabs than commas, else comma.
pub fn delimiter(text: &str) -> u8 {
    let head = &text.as_bytes()[..text.len().min(64 * 1024)];
    let count = |c: u8| head.iter().filter(|&&b| b == c).count();
    if count(b'\t') > count(b',') {
        b'\t'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_or_without_bom_and_utf16_with_bom() {
        assert_eq!(decode(b"\xEF\xBB\xBFa,b").unwrap(), "a,b");
        assert_eq!(decode(b"a,b").unwrap(), "a,b");
        let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain("Day\tCost\n€".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(decode(&le).unwrap(), "Day\tCost\n€");
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain("x,y".encode_utf16().flat_map(u16::to_be_bytes)).collect();
        assert_eq!(decode(&be).unwrap(), "x,y");
        let e = decode(b"a,b\nc,\xE9t\xE9\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2: not UTF-8 text; save the file as UTF-8 (or UTF-16 with a byte-order mark)");
    }

    #[test]
    fn tabs_win_only_when_they_outnumber_commas() {
        assert_eq!(delimiter("Day\tCampaign\tCost\n2026-01-01\tA\t1,234.00\n"), b'\t');
        assert_eq!(delimiter("date,network,campaign\n"), b',');
        assert_eq!(delimiter("just a title\n"), b',');
    }
}

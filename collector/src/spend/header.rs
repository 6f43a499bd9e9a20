//! Which report a header row starts, and where its columns are.
//!
//! Four shapes are read (docs/spend.md lists their columns):
//! - [`Format::Documented`]: `date,network,campaign,cost,currency` and the
//!   optional `ad_group,ad,keyword,clicks,impressions`, any order, any case;
//! - [`Format::Microsoft`]: a Microsoft Advertising performance report
//!   (Reporting API names like `TimePeriod`, `CampaignName`, `Spend`, or the
//!   web UI's `Gregorian date`, `Campaign name`, `Spend`);
//! - [`Format::Google`]: a Google Ads report download (`Day`, `Campaign`, `Cost`);
//! - [`Format::Meta`]: a Meta Ads Manager export (`Reporting starts`,
//!   `Campaign name`, `Amount spent (EUR)`).

/// The report shapes a spend file may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// goaltag's own columns (docs/spend.md).
    Documented,
    /// A Microsoft Advertising performance report.
    Microsoft,
    /// A Google Ads report download.
    Google,
    /// A Meta Ads Manager export.
    Meta,
}

impl Format {
    /// How the summary line and the docs name it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Documented => "spend CSV",
            Format::Microsoft => "Microsoft Advertising report",
            Format::Google => "Google Ads report",
            Format::Meta => "Meta Ads Manager export",
        }
    }

    /// The network its rows belong to (the documented format names it per row).
    pub fn network(self) -> Option<&'static str> {
        match self {
            Format::Documented => None,
            Format::Microsoft => Some("Microsoft"),
            Format::Google => Some("Google"),
            Format::Meta => Some("Meta"),
        }
    }
}

/// Where the currency of a row comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Currency {
    /// A column holding the code.
    Column(usize),
    /// The header named it (Meta's `Amount spent (EUR)`).
    Fixed(String),
}

/// The columns of a recognised header (indexes into a record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The format the header is of.
    pub format: Format,
    /// The header's cells as written (error messages name them).
    pub names: Vec<String>,
    /// The day.
    pub date: usize,
    /// Meta's `Reporting ends`, when the date is `Reporting starts`: both must be the same day.
    pub date_end: Option<usize>,
    /// The network (the documented format only; the others have one network).
    pub network: Option<usize>,
    /// The campaign name.
    pub campaign: usize,
    /// The ad group (Meta: ad set) name, if the file has one.
    pub ad_group: Option<usize>,
    /// The ad name, if the file has one.
    pub ad: Option<usize>,
    /// The keyword, if the file has one.
    pub keyword: Option<usize>,
    /// Where the currency comes from.
    pub currency: Currency,
    /// The amount spent.
    pub cost: usize,
    /// Clicks, if the file has them.
    pub clicks: Option<usize>,
    /// Impressions, if the file has them.
    pub impressions: Option<usize>,
}

/// The documented format's columns.
pub const DOCUMENTED: [&str; 10] =
    ["date", "network", "campaign", "cost", "currency", "ad_group", "ad", "keyword", "clicks", "impressions"];
const DOCUMENTED_REQUIRED: [&str; 5] = ["date", "network", "campaign", "cost", "currency"];

/// A header cell compared without case, outer spaces or byte-order mark, inner spaces collapsed.
pub fn normalise(cell: &str) -> String {
    cell.trim_start_matches('\u{feff}').split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The format whose header `names` (normalised) is, if any.
pub fn detect(names: &[String]) -> Option<Format> {
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("reporting starts") || has("ad set name") || names.iter().any(|x| x.starts_with("amount spent")) {
        Some(Format::Meta)
    } else if ["spend", "timeperiod", "campaignname", "adgroupname", "currencycode"].iter().any(|n| has(n)) {
        Some(Format::Microsoft)
    } else if has("network") || has("date") || has("ad_group") {
        Some(Format::Documented)
    } else if has("cost") && (has("day") || has("campaign") || has("currency code")) {
        Some(Format::Google)
    } else {
        None
    }
}

/// The columns of header `cells` in `format`; the error says what is missing.
pub fn columns(format: Format, cells: &[String]) -> Result<Columns, String> {
    let names: Vec<String> = cells.iter().map(|c| normalise(c)).collect();
    let find = |aliases: &[&str]| aliases.iter().find_map(|a| names.iter().position(|n| n == a));
    let need = |aliases: &[&str], advice: &str| {
        find(aliases).ok_or_else(|| format!("the {} has no {} column; {advice}", format.name(), aliases[0]))
    };
    let written: Vec<String> = cells.iter().map(|c| c.trim().trim_start_matches('\u{feff}').to_string()).collect();
    let cols = match format {
        Format::Documented => {
            for (i, n) in names.iter().enumerate() {
                if !DOCUMENTED.contains(&n.as_str()) {
                    return Err(format!("unknown column {:?}; the columns are {}", written[i], DOCUMENTED.join(", ")));
                }
                if names.iter().filter(|x| *x == n).count() > 1 {
                    return Err(format!("column {n:?} appears twice"));
                }
            }
            if let Some(m) = DOCUMENTED_REQUIRED.iter().find(|r| !names.iter().any(|n| n == *r)) {
                return Err(format!("the header has no {m} column (required: {})", DOCUMENTED_REQUIRED.join(", ")));
            }
            let at = |n: &str| names.iter().position(|x| x == n);
            Columns {
                format,
                names: written,
                date: at("date").unwrap(),
                date_end: None,
                network: at("network"),
                campaign: at("campaign").unwrap(),
                ad_group: at("ad_group"),
                ad: at("ad"),
                keyword: at("keyword"),
                currency: Currency::Column(at("currency").unwrap()),
                cost: at("cost").unwrap(),
                clicks: at("clicks"),
                impressions: at("impressions"),
            }
        }
        Format::Microsoft => Columns {
            format,
            date: need(&["timeperiod", "gregorian date", "day", "date"], "run the report with the time column and Daily aggregation")?,
            date_end: None,
            network: None,
            campaign: need(&["campaignname", "campaign name", "campaign"], "add the CampaignName column")?,
            ad_group: find(&["adgroupname", "ad group name", "ad group"]),
            ad: None,
            keyword: find(&["keyword"]),
            currency: Currency::Column(need(&["currencycode", "currency code"], "add the CurrencyCode column")?),
            cost: need(&["spend"], "add the Spend column")?,
            clicks: find(&["clicks"]),
            impressions: find(&["impressions", "impr."]),
            names: written,
        },
        Format::Google => Columns {
            format,
            date: need(&["day"], "segment the report by Day (Segment > Time > Day)")?,
            date_end: None,
            network: None,
            campaign: need(&["campaign", "campaign name"], "add the Campaign column")?,
            ad_group: find(&["ad group", "ad group name"]),
            ad: None,
            keyword: find(&["keyword", "search keyword"]),
            currency: Currency::Column(need(&["currency code"], "add the Currency code column (Columns > Attributes)")?),
            cost: need(&["cost"], "add the Cost column")?,
            clicks: find(&["clicks"]),
            impressions: find(&["impr.", "impressions"]),
            names: written,
        },
        Format::Meta => {
            let cost = names
                .iter()
                .position(|n| n.starts_with("amount spent"))
                .ok_or_else(|| "the Meta Ads Manager export has no Amount spent column; add it".to_string())?;
            let currency = match names[cost].strip_prefix("amount spent").map(str::trim) {
                Some(rest) if !rest.is_empty() => {
                    let code = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')).unwrap_or("");
                    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                        return Err(format!(
                            "{:?}: expected the currency as 3 letters in brackets, like Amount spent (EUR)",
                            written[cost]
                        ));
                    }
                    Currency::Fixed(code.to_ascii_uppercase())
                }
                _ => Currency::Column(find(&["currency"]).ok_or_else(|| {
                    "the Amount spent column names no currency (like Amount spent (EUR)) and there is no Currency column".to_string()
                })?),
            };
            let day = find(&["day"]);
            Columns {
                format,
                date: match day {
                    Some(d) => d,
                    None => need(&["reporting starts"], "export with Breakdown > By time > Day")?,
                },
                date_end: if day.is_some() { None } else { find(&["reporting ends"]) },
                network: None,
                campaign: need(&["campaign name"], "export at campaign, ad set or ad level")?,
                ad_group: find(&["ad set name"]),
                ad: find(&["ad name"]),
                keyword: None,
                currency,
                cost,
                clicks: find(&["clicks (all)", "link clicks", "clicks"]),
                impressions: find(&["impressions"]),
                names: written,
            }
        }
    };
    Ok(cols)
}

//! Channels: what a touch (a visit's source, or the attribution a conversion
//! carries) is called at each level of the report, the way ad platforms name
//! their spend: network, campaign, ad group, keyword.
//!
//! - network: from the click ID (gclid/gbraid/wbraid → Google, msclkid →
//!   Microsoft, fbclid → Meta, ttclid → TikTok, li_fat_id → LinkedIn); else
//!   `utm_source` through [`SOURCE_ALIASES`] (bing → Microsoft, google → Google,
//!   fb → Meta, …) or as written; else a click ID configured on the site, by
//!   its name; else the referrer's host; else `direct`;
//! - campaign = `utm_campaign`, ad group = `utm_content` (or the parameter
//!   [`Naming::ad_group_param`] names), keyword = `utm_term`.
//!
//! Names compare case-insensitively after trimming: a [`Key`] holds them
//! folded ([`fold`]), and the report shows the first spelling it met.

use goaltag_wire::Attribution;

/// The network of a visit or conversion without any attribution.
pub const DIRECT: &str = "direct";
/// The network of a touch that has campaign parameters but nothing naming its
/// source (no click ID, `utm_source` or referrer).
pub const NOT_SET: &str = "(not set)";

/// Click IDs and their ad network; the first found in this order wins.
pub const CLICK_IDS: [(&str, &str); 7] = [
    ("gclid", "Google"),
    ("gbraid", "Google"),
    ("wbraid", "Google"),
    ("msclkid", "Microsoft"),
    ("fbclid", "Meta"),
    ("ttclid", "TikTok"),
    ("li_fat_id", "LinkedIn"),
];

/// `utm_source` values (folded) that name an ad network, and its name.
pub const SOURCE_ALIASES: [(&str, &str); 13] = [
    ("google", "Google"),
    ("adwords", "Google"),
    ("googleads", "Google"),
    ("bing", "Microsoft"),
    ("microsoft", "Microsoft"),
    ("msads", "Microsoft"),
    ("facebook", "Meta"),
    ("fb", "Meta"),
    ("instagram", "Meta"),
    ("ig", "Meta"),
    ("meta", "Meta"),
    ("tiktok", "TikTok"),
    ("linkedin", "LinkedIn"),
];

/// The ad group parameter unless configured: Microsoft Advertising's
/// auto-tagging puts the ad group in `utm_content`.
pub const DEFAULT_AD_GROUP_PARAM: &str = "utm_content";

/// How the levels below network are read from the UTM parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    /// The parameter holding the ad group (a `utm_*` name; default `utm_content`).
    pub ad_group_param: String,
}

impl Default for Naming {
    fn default() -> Self {
        Naming { ad_group_param: DEFAULT_AD_GROUP_PARAM.into() }
    }
}

/// The level rows are keyed at (`by=`): each level includes those above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// Ad network (or referrer host, `utm_source`, direct).
    Network,
    /// Network and campaign (the default).
    #[default]
    Campaign,
    /// Network, campaign and ad group.
    AdGroup,
    /// Network, campaign, ad group and keyword.
    Keyword,
}

impl Level {
    /// Every level, in order, with its parameter name.
    pub const ALL: [(Level, &'static str); 4] =
        [(Level::Network, "network"), (Level::Campaign, "campaign"), (Level::AdGroup, "ad_group"), (Level::Keyword, "keyword")];

    /// The level a `by=` value names.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.iter().find(|(_, n)| *n == s).map(|(l, _)| *l)
    }

    /// Its `by=` name.
    pub fn name(self) -> &'static str {
        Level::ALL[self as usize].1
    }
}

/// A touch named at every level, each name as first written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Touch {
    /// Ad network, referrer host, `utm_source`, or [`DIRECT`].
    pub network: String,
    /// `utm_campaign`.
    pub campaign: Option<String>,
    /// The ad group parameter ([`Naming::ad_group_param`]).
    pub ad_group: Option<String>,
    /// `utm_term`.
    pub keyword: Option<String>,
}

/// Trimmed, and `None` when nothing is left.
fn clean(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim()).filter(|s| !s.is_empty()).map(String::from)
}

impl Touch {
    /// The touch an attribution makes (none, or an empty one: direct).
    pub fn of(a: Option<&Attribution>, naming: &Naming) -> Touch {
        let Some(a) = a else { return Touch::direct() };
        let campaign = clean(a.utm.get("utm_campaign"));
        let ad_group = clean(a.utm.get(naming.ad_group_param.as_str()));
        let keyword = clean(a.utm.get("utm_term"));
        let source = clean(a.utm.get("utm_source"));
        let network = CLICK_IDS
            .iter()
            .find(|(id, _)| a.click_ids.contains_key(id))
            .map(|(_, n)| n.to_string())
            .or_else(|| source.map(|s| SOURCE_ALIASES.iter().find(|(alias, _)| *alias == fold(&s)).map_or(s, |(_, n)| n.to_string())))
            .or_else(|| a.click_ids.iter().next().map(|(name, _)| name.clone()))
            .or_else(|| clean(a.referrer_host.as_ref()).map(|h| h.to_ascii_lowercase()));
        match network {
            Some(network) => Touch { network, campaign, ad_group, keyword },
            None if campaign.is_none() && ad_group.is_none() && keyword.is_none() => Touch::direct(),
            None => Touch { network: NOT_SET.into(), campaign, ad_group, keyword },
        }
    }

    /// No source at all.
    pub fn direct() -> Touch {
        Touch { network: DIRECT.into(), ..Default::default() }
    }

    /// Its key at `level`: the names down to that level, folded.
    pub fn key(&self, level: Level) -> Key {
        let at = |l: Level, s: &Option<String>| if level >= l { s.as_deref().map(fold) } else { None };
        Key {
            network: fold(&self.network),
            campaign: at(Level::Campaign, &self.campaign),
            ad_group: at(Level::AdGroup, &self.ad_group),
            keyword: at(Level::Keyword, &self.keyword),
        }
    }
}

/// A name as it compares: trimmed and lower-cased.
pub fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

/// What a report row is keyed by at one level: folded names, the levels
/// below the chosen one left out (`None` also means "not set" at a level
/// above or at it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Key {
    /// The network, folded.
    pub network: String,
    /// The campaign, folded (from [`Level::Campaign`] down).
    pub campaign: Option<String>,
    /// The ad group, folded (from [`Level::AdGroup`] down).
    pub ad_group: Option<String>,
    /// The keyword, folded (at [`Level::Keyword`]).
    pub keyword: Option<String>,
}

impl Key {
    /// True for the key of direct traffic.
    pub fn is_direct(&self) -> bool {
        self.network == DIRECT
    }
}

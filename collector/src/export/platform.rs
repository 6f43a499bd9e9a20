//! The ad platforms an export writes for, and what differs between them:
//! names, click-ID parameters, file type.

use serde::Serialize;

/// An ad platform goaltag writes upload files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    /// Microsoft Advertising (msclkid).
    MicrosoftAds,
    /// Google Ads (gclid, wbraid, gbraid).
    GoogleAds,
    /// Meta (fbclid).
    Meta,
}

impl Platform {
    /// All of them, in the order the dashboard lists them.
    pub const ALL: [Platform; 3] = [Platform::MicrosoftAds, Platform::GoogleAds, Platform::Meta];

    /// The name on the command line and in URLs: `microsoft-ads`, `google-ads`, `meta`.
    pub fn name(self) -> &'static str {
        match self {
            Platform::MicrosoftAds => "microsoft-ads",
            Platform::GoogleAds => "google-ads",
            Platform::Meta => "meta",
        }
    }

    /// The platform's own name.
    pub fn label(self) -> &'static str {
        match self {
            Platform::MicrosoftAds => "Microsoft Advertising",
            Platform::GoogleAds => "Google Ads",
            Platform::Meta => "Meta",
        }
    }

    /// From [`Platform::name`].
    pub fn parse(s: &str) -> Result<Platform, String> {
        Platform::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("platform: expected microsoft-ads, google-ads or meta, got {s:?}"))
    }

    /// The click-ID parameters that key a conversion on this platform, the preferred first.
    pub fn click_params(self) -> &'static [&'static str] {
        match self {
            Platform::MicrosoftAds => &["msclkid"],
            // wbraid is for web conversions, gbraid for app ones.
            Platform::GoogleAds => &["gclid", "wbraid", "gbraid"],
            Platform::Meta => &["fbclid"],
        }
    }

    /// Its part of a conversion's hashed match keys (enhanced conversions).
    pub fn user_data(self, u: &goaltag_wire::UserData) -> &goaltag_wire::Map {
        match self {
            Platform::MicrosoftAds => &u.microsoft,
            Platform::GoogleAds => &u.google,
            Platform::Meta => &u.meta,
        }
    }

    /// Whether a conversion without the platform's click ID but with a
    /// hashed email or phone is sent: Microsoft (an enhanced conversion
    /// goal) and Meta (advanced matching) match by those alone; Google's
    /// click-conversion file needs its click ID.
    pub fn matches_without_click(self) -> bool {
        matches!(self, Platform::MicrosoftAds | Platform::Meta)
    }

    /// The upload file's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Platform::Meta => "application/json",
            _ => "text/csv; charset=utf-8",
        }
    }

    /// The upload file's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Platform::Meta => "json",
            _ => "csv",
        }
    }
}

//! The site's goal configuration as an export reads it ([`Goals`]).

use std::collections::HashMap;
use std::path::Path;

/// What the site's goal configuration (the tag's `data-config` JSON, like
/// `www/goals.json`) tells the export: goal names, primary flags, and the
/// attribution window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Goals {
    /// Name by goal ID.
    pub names: HashMap<String, String>,
    /// Primary flag by goal ID.
    pub primary: HashMap<String, bool>,
    /// `attribution_window_days`, when the file sets it.
    pub window_days: Option<u32>,
}

impl Goals {
    /// Reads `{"goals": [{"id", "name", "primary"}, …], "attribution_window_days": n}`;
    /// other fields are the tag's business and are skipped.
    pub fn parse(text: &str) -> Result<Goals, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let mut g = Goals::default();
        if let Some(n) = v.get("attribution_window_days") {
            let n = n.as_u64().filter(|n| (1..=365).contains(n)).ok_or("attribution_window_days: expected 1 to 365")?;
            g.window_days = Some(n as u32);
        }
        let goals = match v.get("goals") {
            None => return Ok(g),
            Some(goals) => goals.as_array().ok_or("goals: expected an array")?,
        };
        for (i, goal) in goals.iter().enumerate() {
            let id = goal.get("id").and_then(|x| x.as_str()).ok_or_else(|| format!("goals[{i}].id: missing"))?;
            if let Some(name) = goal.get("name").and_then(|x| x.as_str()) {
                g.names.insert(id.to_string(), name.to_string());
            }
            g.primary.insert(id.to_string(), goal.get("primary").and_then(|x| x.as_bool()).unwrap_or(true));
        }
        Ok(g)
    }

    /// [`Goals::parse`] of a file.
    pub fn load(path: &Path) -> anyhow::Result<Goals> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read the goals file {}: {e}", path.display()))?;
        Goals::parse(&text).map_err(|e| anyhow::anyhow!("the goals file {}: {e}", path.display()))
    }

    /// The conversion name of `key` (`goal` or `goal:stage`) unless the request names it.
    pub fn name(&self, key: &str) -> String {
        match key.split_once(':') {
            Some((goal, stage)) => format!("{}: {stage}", self.names.get(goal).map_or(goal, String::as_str)),
            None => self.names.get(key).cloned().unwrap_or_else(|| key.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goal_files_give_names_primary_flags_and_the_window() {
        let g = Goals::parse(r#"{"attribution_window_days": 14, "goals": [{"id": "purchase", "name": "Purchase", "when": {}}, {"id": "x", "primary": false}]}"#).unwrap();
        assert_eq!(
            (g.name("purchase"), g.name("purchase:shipped"), g.name("x"), g.name("y")),
            ("Purchase".into(), "Purchase: shipped".into(), "x".into(), "y".into())
        );
        assert_eq!((g.primary["purchase"], g.primary["x"], g.window_days), (true, false, Some(14)));
        assert!(Goals::parse("[").unwrap_err().starts_with("not JSON"));
        assert!(Goals::parse(r#"{"goals": {}}"#).unwrap_err().starts_with("goals:"));
    }
}

//! The attribution models: how one conversion's credit is shared among the
//! touches of its path ([`super::path`]). Every rule model gives shares that
//! sum to 1; `data_driven` credits all conversions at once ([`super::markov`]).

use super::path::Step;

/// A model (`model=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Model {
    /// The last non-direct touch of the path (the default).
    #[default]
    LastNonDirect,
    /// The conversion's own visit, direct included.
    LastTouch,
    /// The first touch of the path.
    FirstTouch,
    /// Equal shares for every touch.
    Linear,
    /// 1 touch: all; 2: half each; 3 or more: 40 % first, 40 % last, 20 %
    /// shared equally by the middle.
    PositionBased,
    /// Weight 2^(-age / 7 days), age = conversion time - the touch's visit
    /// start, normalised to sum to 1.
    TimeDecay,
    /// First-order Markov chain removal effect ([`super::markov`]).
    DataDriven,
}

/// Half-life of the time decay model.
pub const HALF_LIFE_MS: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;

impl Model {
    /// Every model with its parameter name, the default first.
    pub const ALL: [(Model, &'static str); 7] = [
        (Model::LastNonDirect, "last_non_direct"),
        (Model::LastTouch, "last_touch"),
        (Model::FirstTouch, "first_touch"),
        (Model::Linear, "linear"),
        (Model::PositionBased, "position_based"),
        (Model::TimeDecay, "time_decay"),
        (Model::DataDriven, "data_driven"),
    ];

    /// The model a `model=` value names.
    pub fn parse(s: &str) -> Option<Model> {
        Model::ALL.iter().find(|(_, n)| *n == s).map(|(m, _)| *m)
    }

    /// Its `model=` name.
    pub fn name(self) -> &'static str {
        Model::ALL.iter().find(|(m, _)| *m == self).map(|(_, n)| *n).expect("every model is listed")
    }
}

/// The shares of a conversion at time `at` among the touches of its
/// non-empty `path`, for the rule models ([`Model::LastTouch`] is the
/// conversion's own visit and [`Model::DataDriven`] works on all paths at
/// once: both are the caller's). A channel met twice gets both shares.
pub fn shares(model: Model, path: &[Step], at: i64) -> Vec<(u32, f64)> {
    let n = path.len();
    let (Some(first), Some(last)) = (path.first(), path.last()) else { return Vec::new() };
    match model {
        Model::LastNonDirect | Model::LastTouch | Model::DataDriven => vec![(last.key, 1.0)],
        Model::FirstTouch => vec![(first.key, 1.0)],
        Model::Linear => path.iter().map(|s| (s.key, 1.0 / n as f64)).collect(),
        Model::PositionBased => match n {
            1 => vec![(first.key, 1.0)],
            2 => vec![(first.key, 0.5), (last.key, 0.5)],
            _ => {
                let middle = 0.2 / (n - 2) as f64;
                let mut out = vec![(first.key, 0.4)];
                out.extend(path[1..n - 1].iter().map(|s| (s.key, middle)));
                out.push((last.key, 0.4));
                out
            }
        },
        Model::TimeDecay => {
            let weights: Vec<f64> = path.iter().map(|s| (-((at - s.at).max(0) as f64) / HALF_LIFE_MS).exp2()).collect();
            let total: f64 = weights.iter().sum();
            path.iter().zip(weights).map(|(s, w)| (s.key, w / total)).collect()
        }
    }
}

//! `data_driven`: the first-order Markov chain removal effect, solved
//! exactly (no simulation: the same answer every time).
//!
//! States: start, the channels at the report's level, conversion, null.
//! Every path adds its transitions: start → c1 → … → ck → conversion (a
//! primary conversion's path) or → null (the path of a visitor without one).
//! Transition probabilities are the counts out of each state, normalised.
//!
//! Let Q be the transitions among channels, b the probability of going from
//! each channel straight to conversion and s the start's transitions.
//! With A = I − Q and N = A⁻¹ (expected visits), the probability of
//! converting from channel j is h = N b, and P(conversion) = s·h. Removing
//! channel i (every transition into it sent to null) leaves the conversions
//! that never visit i; by the strong Markov property
//!
//!   P(conversion without visiting i) = P(conversion) − P(reach i) · h_i,
//!
//! and P(reach i) = (sᵀN)_i / N_ii (expected visits over visits per arrival).
//! So one LU factorisation of A gives everything: two solves (h and sᵀN)
//! and the diagonal of N from the inverses of the triangular factors,
//! without any product of them. Removal effect_i = P(reach i)·h_i / P(conversion).
//!
//! A is an M-matrix (Q has no self-loops, since repeats are collapsed, and
//! every state can leave to conversion or null), so it is well conditioned
//! for any chain the report can build; LU with partial pivoting ([`faer`]) is
//! backward stable. Cost: O(n³) in the channels n for the factorisation and
//! the two triangular inverses, O(n²) memory (8 bytes × n² for each of L, U
//! and their inverses; [`MAX_STATES`] bounds it).

use faer::linalg::solvers::Solve;
use faer::{Mat, Par};
use std::collections::HashMap;

/// Most channels the chain may have at one level: 4 matrices of n² f64 are
/// about 1.2 GB at this size.
pub const MAX_STATES: usize = 6000;

/// The counts of a chain's transitions, built path by path.
#[derive(Debug, Default)]
pub struct Chain {
    /// Channel (report key index) → state index.
    states: HashMap<u32, usize>,
    keys: Vec<u32>,
    start: Vec<f64>,
    to_conversion: Vec<f64>,
    to_null: Vec<f64>,
    between: HashMap<(usize, usize), f64>,
}

impl Chain {
    fn state(&mut self, key: u32) -> usize {
        let n = self.keys.len();
        let i = *self.states.entry(key).or_insert(n);
        if i == n {
            self.keys.push(key);
            self.start.push(0.0);
            self.to_conversion.push(0.0);
            self.to_null.push(0.0);
        }
        i
    }

    /// Adds one path (channels in order, no channel twice in a row), ending
    /// in conversion or null. An empty path adds nothing.
    pub fn add(&mut self, path: impl IntoIterator<Item = u32>, converted: bool) {
        let mut prev: Option<usize> = None;
        for key in path {
            let s = self.state(key);
            match prev {
                None => self.start[s] += 1.0,
                Some(p) => *self.between.entry((p, s)).or_default() += 1.0,
            }
            prev = Some(s);
        }
        if let Some(p) = prev {
            if converted {
                self.to_conversion[p] += 1.0
            } else {
                self.to_null[p] += 1.0
            }
        }
    }

    /// Channels in the chain.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no path was added.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Each channel's removal effect, normalised to sum to 1 (all 0 when no
    /// path converts), as (channel, share).
    pub fn shares(&self) -> Result<Vec<(u32, f64)>, String> {
        let n = self.keys.len();
        if n > MAX_STATES {
            return Err(format!("data_driven: the paths name {n} channels at this level; at most {MAX_STATES} (choose a coarser `by`)"));
        }
        let effects = removal_effects(self);
        let total: f64 = effects.iter().sum();
        Ok(self.keys.iter().zip(effects).map(|(k, e)| (*k, if total > 0.0 { e / total } else { 0.0 })).collect())
    }
}

/// The removal effect of every state (see the module docs).
fn removal_effects(c: &Chain) -> Vec<f64> {
    let n = c.keys.len();
    let mut out_total: Vec<f64> = (0..n).map(|i| c.to_conversion[i] + c.to_null[i]).collect();
    for (&(p, _), w) in &c.between {
        out_total[p] += w;
    }
    let paths: f64 = c.start.iter().sum();
    if n == 0 || paths == 0.0 {
        return vec![0.0; n];
    }
    let mut a = Mat::<f64>::identity(n, n);
    for (&(p, s), w) in &c.between {
        a[(p, s)] -= w / out_total[p];
    }
    let lu = a.partial_piv_lu();
    drop(a);
    let mut h = Mat::<f64>::from_fn(n, 1, |i, _| c.to_conversion[i] / out_total[i]);
    lu.solve_in_place(h.as_mut());
    // x = Aᵀ⁻¹ s: expected visits to each state from start.
    let mut x = Mat::<f64>::from_fn(n, 1, |i, _| c.start[i] / paths);
    lu.solve_transpose_in_place(x.as_mut());
    let p_conv: f64 = (0..n).map(|i| c.start[i] / paths * h[(i, 0)]).sum();
    if p_conv <= 0.0 {
        return vec![0.0; n];
    }
    let diag = inverse_diagonal(&lu);
    (0..n).map(|i| (x[(i, 0)] / diag[i] * h[(i, 0)] / p_conv).clamp(0.0, 1.0)).collect()
}

/// The diagonal of A⁻¹ from PA = LU: A⁻¹ = U⁻¹ L⁻¹ P, so
/// (A⁻¹)_ii = Σ_k (U⁻¹)_ik (L⁻¹)_{k,π(i)}, π(i) being the row of PA that
/// row i of A became. Two triangular inverses, no product.
fn inverse_diagonal(lu: &faer::linalg::solvers::PartialPivLu<f64>) -> Vec<f64> {
    let n = lu.U().nrows();
    let par = Par::Seq;
    let mut l_inv = Mat::<f64>::zeros(n, n);
    faer::linalg::triangular_inverse::invert_unit_lower_triangular(l_inv.as_mut(), lu.L(), par);
    // The unit diagonal is implied, not written.
    for i in 0..n {
        l_inv[(i, i)] = 1.0;
    }
    let mut u_inv = Mat::<f64>::zeros(n, n);
    faer::linalg::triangular_inverse::invert_upper_triangular(u_inv.as_mut(), lu.U(), par);
    let (fwd, _) = lu.P().arrays();
    (0..n).map(|i| (i..n).map(|k| u_inv[(i, k)] * l_inv[(k, fwd[i])]).sum()).collect()
}

#[cfg(test)]
pub(super) fn inverse_diagonal_for_test(a: &Mat<f64>) -> Vec<f64> {
    inverse_diagonal(&a.partial_piv_lu())
}

//! Events held in memory while consent is unknown or awaited.

use crate::prelude::*;

/// Events held at most while consent is unknown or awaited; memory is all they may use.
pub const HELD_CAPACITY: usize = 200;

/// Bounded FIFO of events held while consent is unknown or awaited. Memory only:
/// nothing may be stored before consent. Overflow drops the oldest and counts it.
#[derive(Debug, Clone)]
pub struct Held<T> {
    /// A Vec, not a VecDeque: the buffer is small and VecDeque's ring code
    /// costs about 2 KB of wasm.
    items: Vec<T>,
    cap: usize,
    dropped: u32,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held::new()
    }
}

impl<T> Held<T> {
    /// An empty buffer of [`HELD_CAPACITY`] items.
    pub fn new() -> Self {
        Held::with_capacity(HELD_CAPACITY)
    }

    /// An empty buffer of `cap` items.
    pub fn with_capacity(cap: usize) -> Self {
        Held { items: Vec::new(), cap, dropped: 0 }
    }

    /// Appends; past capacity the oldest goes and is returned.
    pub fn push(&mut self, item: T) -> Option<T> {
        self.push_sparing(item, |_| false)
    }

    /// Like [`Held::push`], but on overflow the oldest item that is not `spare`d
    /// goes first (conversions, like the outbox). With only spared items held, a
    /// newcomer that is not spared is the one dropped, else the oldest.
    pub fn push_sparing(&mut self, item: T, spare: impl Fn(&T) -> bool) -> Option<T> {
        if self.items.len() < self.cap {
            self.items.push(item);
            return None;
        }
        self.dropped = self.dropped.saturating_add(1);
        let out = match self.items.iter().position(|x| !spare(x)) {
            Some(i) => Some(self.items.remove(i)),
            None if !spare(&item) => return Some(item),
            None if self.items.is_empty() => None,
            None => Some(self.items.remove(0)),
        };
        self.items.push(item);
        out
    }

    /// Everything held, oldest first, for routing on `ReleaseHeld`.
    pub fn drain(&mut self) -> Vec<T> {
        core::mem::take(&mut self.items)
    }

    /// Keeps only the items `keep` says; what goes is not counted as overflow.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.items.retain(keep);
    }

    /// For `DiscardHeld`; not counted as overflow.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The held items, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// The held items, oldest first, to change in place.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.items.iter_mut()
    }

    /// Items lost to overflow since the last [`Held::take_dropped`]; the
    /// tracker adds them to the outbox's `dropped.overflow` when it releases
    /// the held items, so they reach the wire.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Returns and resets the overflow count, to report it exactly once.
    pub fn take_dropped(&mut self) -> u32 {
        core::mem::take(&mut self.dropped)
    }
}

#[cfg(test)]
mod tests;

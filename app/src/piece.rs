//! Code the phone fetches after the first screen, split off by `cargo xtask build` at each
//! `#[wasm_split(..)]` function: the supervisors' pages ([`crate::routes::later`]) and the sync
//! engine ([`crate::sync`]). Such a function is `fallible`: a piece that cannot be fetched must
//! not abort the wasm that holds the worker's records.

use leptos::wasm_split::SplitLoaderError;

/// A piece of the app's wasm could not be fetched (offline before it was ever kept).
pub struct NotLoaded;

impl From<SplitLoaderError> for NotLoaded {
    fn from(_: SplitLoaderError) -> Self {
        NotLoaded
    }
}

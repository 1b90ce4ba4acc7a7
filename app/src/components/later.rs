//! Pieces of pages a village worker's first screen does without, each in a piece of wasm of its
//! own (see [`crate::routes::later`] for whole pages): the wish wall's offers and residents'
//! submissions on the home page (read from the server, so nothing to show offline anyway), a
//! person's archive on a register record, and the shrinking of a photo chosen on a form (kept by
//! the service worker like every piece, so it works offline once the app has been opened). A piece is fetched when its page is drawn and drawn in
//! that page's reactive owner once it arrives; one that cannot be fetched leaves nothing. A piece
//! reaches what the main module does for it through a callback it is given, never by a call: a
//! call would tie another piece (the sync engine's) to it.

use crate::components::offers::OfferInbox;
use crate::components::person_archive::PersonArchives;
use crate::components::submissions::SubmissionInbox;
use crate::piece::NotLoaded;
use crate::store::LocalRecord;
use js_sys::Uint8Array;
use leptos::prelude::*;
use leptos::wasm_split::wasm_split;
use shequ_model::photo::PhotoId;
use shequ_model::Plan;
use std::future::Future;
use std::sync::Arc;

#[wasm_split(inbox, wasm_split_path = ::leptos::wasm_split, fallible)]
fn inboxes(owner: Owner, unit: String, saved: Callback<()>) -> Result<AnyView, NotLoaded> {
    Ok(owner.with(|| {
        view! { <OfferInbox unit=unit.clone() saved=saved/> <SubmissionInbox unit=unit/> }
            .into_any()
    }))
}

#[wasm_split(archive, wasm_split_path = ::leptos::wasm_split, fallible)]
fn archives(owner: Owner, plan: Arc<Plan>, member: LocalRecord) -> Result<AnyView, NotLoaded> {
    Ok(owner.with(|| view! { <PersonArchives plan=plan member=member/> }.into_any()))
}

type Shrinking = std::pin::Pin<Box<dyn Future<Output = Result<(PhotoId, Uint8Array), String>>>>;

#[wasm_split(photo, wasm_split_path = ::leptos::wasm_split, fallible)]
fn shrinking(file: web_sys::File) -> Result<Shrinking, NotLoaded> {
    Ok(Box::pin(crate::components::photo_shrink::shrink(file)))
}

/// A photo chosen on a form, shrunk ([`crate::components::photo_shrink`]), and its id.
pub async fn shrink_photo(file: web_sys::File) -> Result<(PhotoId, Uint8Array), String> {
    match shrinking(file).await {
        Ok(running) => running.await,
        Err(NotLoaded) => Err(crate::tc!(photo.not_loaded)),
    }
}

/// Draws what `load` makes once its piece has arrived, in the caller's owner.
fn drawn<F>(load: impl FnOnce(Owner) -> F) -> impl IntoView
where
    F: Future<Output = Result<AnyView, NotLoaded>> + 'static,
{
    let slot: StoredValue<Option<AnyView>, LocalStorage> = StoredValue::new_local(None);
    let (arrived, set_arrived) = signal(false);
    if let Some(owner) = Owner::current() {
        let loading = load(owner);
        leptos::task::spawn_local(async move {
            if let Ok(view) = loading.await {
                slot.set_value(Some(view));
                set_arrived.set(true);
            }
        });
    }
    move || {
        arrived
            .get()
            .then(|| slot.try_update_value(Option::take).flatten())
    }
}

/// The wish wall's offers and residents' submissions waiting for the village `unit`; `saved`
/// runs when taking an offer up saved a record.
#[component]
pub fn WallInboxes(unit: String, saved: Callback<()>) -> impl IntoView {
    drawn(move |owner| inboxes(owner, unit, saved))
}

/// The archives of a person of a register ([`PersonArchives`]).
#[component]
pub fn LaterArchives(plan: Arc<Plan>, member: LocalRecord) -> impl IntoView {
    drawn(move |owner| archives(owner, plan, member))
}

//! Pieces of pages a village worker's first screen does without, each in a piece of wasm of its
//! own (see [`crate::routes::later`] for whole pages): the wish wall's offers and residents'
//! submissions on the home page (read from the server, so nothing to show offline anyway), a
//! person's archive on a register record, and a photo field with the shrinking of a photo chosen
//! (kept by the service worker like every piece, so it works offline once the app has been
//! opened). Pages in pieces of their own ([`crate::routes::later`]) draw photos directly: a piece
//! calling into another piece breaks the builds that are not split (the tests'). A piece is fetched when its page is drawn and drawn in
//! that page's reactive owner once it arrives; one that cannot be fetched leaves nothing. A piece
//! reaches what the main module does for it through a callback it is given, never by a call: a
//! call would tie another piece (the sync engine's) to it.

use crate::components::offers::OfferInbox;
use crate::components::person_archive::PersonArchives;
use crate::components::photos::PhotoField;
use crate::components::submissions::SubmissionInbox;
use crate::piece::NotLoaded;
use crate::store::LocalRecord;
use leptos::prelude::*;
use leptos::wasm_split::wasm_split;
use shequ_model::record::Content;
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

#[wasm_split(photo, wasm_split_path = ::leptos::wasm_split, fallible)]
fn photo_field(
    owner: Owner,
    field: String,
    label: String,
    values: RwSignal<Content>,
) -> Result<AnyView, NotLoaded> {
    Ok(owner.with(|| view! { <PhotoField field=field label=label values=values/> }.into_any()))
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

/// A photo field's input ([`PhotoField`]).
#[component]
pub fn LaterPhotoField(field: String, label: String, values: RwSignal<Content>) -> impl IntoView {
    drawn(move |owner| photo_field(owner, field, label, values))
}

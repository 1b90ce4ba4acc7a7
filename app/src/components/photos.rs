//! A photo field's input and the photos a record names, shown from this phone's store, or read
//! from the server for a record this phone did not make.

use crate::components::photo_shrink::shrink;
use crate::i18n::{t, t_string, use_i18n};
use crate::store::Db;
use crate::{api, tc};
use js_sys::{Array, Uint8Array};
use leptos::prelude::*;
use serde_json::Value;
use shequ_model::photo::{PhotoId, MAX_PER_FIELD};
use shequ_model::record::Content;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlInputElement, Url};

fn ids_in(values: RwSignal<Content>, field: &str) -> Vec<PhotoId> {
    values.with(|c| match c.get(field) {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|v| PhotoId::parse(v.as_str()?).ok())
            .collect(),
        _ => vec![],
    })
}

fn set_ids(values: RwSignal<Content>, field: &str, ids: Vec<PhotoId>) {
    values.update(|c| {
        if ids.is_empty() {
            c.remove(field);
        } else {
            let list = ids.into_iter().map(|p| Value::String(p.into())).collect();
            c.insert(field.to_string(), Value::Array(list));
        }
    });
}

/// The input of a photo field: the photos chosen, each removable, and a button that opens the
/// camera or the gallery. A chosen photo is shrunk and kept on the phone at once.
#[component]
pub fn PhotoField(field: String, label: String, values: RwSignal<Content>) -> impl IntoView {
    let i18n = use_i18n();
    let (working, set_working) = signal(0usize);
    let (problem, set_problem) = signal(None::<String>);
    let chosen = {
        let field = field.clone();
        move || ids_in(values, &field)
    };
    let on_change = {
        let field = field.clone();
        move |ev: leptos::ev::Event| {
            let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            let files: Vec<web_sys::File> = input
                .files()
                .map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect())
                .unwrap_or_default();
            input.set_value("");
            set_problem.set(None);
            for file in files {
                let field = field.clone();
                set_working.update(|n| *n += 1);
                leptos::task::spawn_local(async move {
                    let name = file.name();
                    let kept = async {
                        let (id, bytes) = shrink(file).await?;
                        let db = Db::get().await.map_err(|e| e.to_string())?;
                        db.add_photo(&id, &bytes).await.map_err(|e| e.to_string())?;
                        Ok::<_, String>(id)
                    }
                    .await;
                    match kept {
                        Ok(id) => {
                            let mut ids = ids_in(values, &field);
                            if ids.contains(&id) {
                            } else if ids.len() >= MAX_PER_FIELD {
                                let most = MAX_PER_FIELD.to_string();
                                set_problem.try_set(Some(tc!(photo.too_many, most = most)));
                            } else {
                                ids.push(id);
                                set_ids(values, &field, ids);
                            }
                        }
                        Err(error) => {
                            set_problem.try_set(Some(tc!(
                                photo.failed,
                                name = name,
                                error = error
                            )));
                        }
                    }
                    set_working.try_update(|n| *n -= 1);
                });
            }
        }
    };
    let remove = move |id: PhotoId| {
        let field = field.clone();
        move |_| {
            let mut ids = ids_in(values, &field);
            ids.retain(|p| *p != id);
            set_ids(values, &field, ids);
        }
    };
    view! {
        <div class="photos" data-testid="photo-field">
            {move || chosen().into_iter().map(|id| {
                view! {
                    <figure class="photo">
                        <PhotoImg id=id.clone()/>
                        <button type="button" class="btn small" on:click=remove.clone()(id)
                            aria-label=move || t_string!(i18n, photo.remove)>"✕"</button>
                    </figure>
                }
            }).collect_view()}
            <label class="btn photo-add">
                {t!(i18n, photo.add)}
                <input type="file" accept="image/*" multiple class="hidden-input"
                    aria-label=label on:change=on_change/>
            </label>
            {move || (working.get() > 0).then(|| view! { <small class="muted" data-testid="photo-working">{t!(i18n, photo.working)}</small> })}
            {move || problem.get().map(|p| view! { <small class="error" role="alert" data-testid="photo-problem">{p}</small> })}
        </div>
    }
}

/// The photos of a record, read-only.
#[component]
pub fn PhotoStrip(ids: Vec<PhotoId>) -> impl IntoView {
    (!ids.is_empty()).then(|| {
        view! {
            <div class="photos" data-testid="record-photos">
                {ids.into_iter().map(|id| view! { <figure class="photo"><PhotoImg id=id/></figure> }).collect_view()}
            </div>
        }
    })
}

/// One photo: from this phone's store if it holds it, else from the server.
#[component]
pub fn PhotoImg(id: PhotoId) -> impl IntoView {
    let i18n = use_i18n();
    let (url, set_url) = signal(None::<String>);
    let (missing, set_missing) = signal(false);
    let made: StoredValue<Option<String>, LocalStorage> = StoredValue::new_local(None);
    leptos::task::spawn_local(async move {
        let db = Db::get().await.ok();
        let local = match &db {
            Some(db) => db.photo(&id).await.ok().flatten(),
            None => None,
        };
        let bytes = match local {
            Some(b) => Some(b),
            None => {
                let fetched = api::photo(&id).await.ok();
                if let (Some(db), Some(b)) = (&db, &fetched) {
                    let _ = db.keep_fetched(&id, b).await;
                }
                fetched
            }
        };
        match bytes.and_then(|b| object_url(&b)) {
            Some(u) => {
                if made.try_set_value(Some(u.clone())).is_none() {
                    set_url.try_set(Some(u));
                } else {
                    // The photo's page was left while it loaded.
                    let _ = Url::revoke_object_url(&u);
                }
            }
            None => {
                set_missing.try_set(true);
            }
        }
    });
    on_cleanup(move || {
        if let Some(Some(u)) = made.try_get_value() {
            let _ = Url::revoke_object_url(&u);
        }
    });
    view! {
        {move || url.get().map(|u| view! { <img src=u alt=move || t_string!(i18n, photo.alt) loading="lazy" data-testid="photo"/> })}
        {move || missing.get().then(|| view! { <small class="muted">{t!(i18n, photo.unavailable)}</small> })}
    }
}

fn object_url(bytes: &Uint8Array) -> Option<String> {
    let options = BlobPropertyBag::new();
    options.set_type("image/jpeg");
    let blob = Blob::new_with_u8_array_sequence_and_options(&Array::of1(bytes), &options).ok()?;
    Url::create_object_url_with_blob(&blob).ok()
}

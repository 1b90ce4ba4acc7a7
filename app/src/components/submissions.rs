//! What residents sent in from the public wish wall for this village, read from the server when
//! the phone is online. The worker calls the resident to check it, then makes it a record with the
//! usual form, which starts with what was sent (`/new/FORM?from=ID`, answered as taken once
//! saved), or hides it. Nothing of it is on the wall until the worker's record is published.

use crate::api;
use crate::i18n::{t, use_i18n};
use crate::state::use_state;
use crate::tf;
use leptos::prelude::*;
use serde_json::Value;
use shequ_model::month::china_date;
use shequ_model::wall::{Decision, SubmissionView};

#[component]
pub fn SubmissionInbox(unit: String) -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let (answered, set_answered) = signal(0u32);
    let unit = StoredValue::new(unit);
    let sent = LocalResource::new(move || {
        answered.track();
        async move { api::submissions(&unit.get_value()).await.ok() }
    });
    let (message, set_message) = signal(None::<String>);
    let hide = Action::new_local(move |s: &SubmissionView| {
        let id = s.id;
        async move {
            let done = api::decide_submission(&id, Decision::Hide).await;
            set_message.set(done.err().map(|e| e.to_string()));
            set_answered.update(|n| *n += 1);
        }
    });
    let list = move || {
        let list: Vec<SubmissionView> = sent.get().flatten().unwrap_or_default();
        (!list.is_empty()).then(|| {
            let n = list.len();
            let items = list
                .into_iter()
                .map(|s| {
                    let form = state.plan.with(|p| p.as_ref().and_then(|p| p.form(&s.form).cloned()));
                    let name = form.as_ref().map(|f| f.name.clone()).unwrap_or_else(|| s.form.clone());
                    // Each field sent, with its label, in the form's order.
                    let fields: Vec<(String, String)> = form
                        .iter()
                        .flat_map(|f| f.fields.iter())
                        .filter_map(|f| {
                            let v = match s.content.get(&f.id)? {
                                Value::String(t) => t.clone(),
                                other => other.to_string(),
                            };
                            Some((f.label.clone(), v))
                        })
                        .collect();
                    let href = format!("/new/{}?from={}", s.form, s.id);
                    let gone = s.clone();
                    view! {
                        <li class="offer" data-testid="submission">
                            <strong>{name}</strong>
                            <dl class="sent">
                                {fields.into_iter().map(|(l, v)| view! { <dt>{l}</dt><dd>{v}</dd> }).collect_view()}
                            </dl>
                            <p><a href=format!("tel:{}", s.phone)>{s.phone.clone()}</a>" · "<span class="muted">{china_date(s.made_at)}</span></p>
                            <div class="offer-actions">
                                <a class="btn primary" href=href>{t!(i18n, submissions.check)}</a>
                                <button class="btn small" disabled=move || hide.pending().get()
                                    on:click=move |_| { hide.dispatch_local(gone.clone()); }>{t!(i18n, offers.hide)}</button>
                            </div>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="card offers" data-testid="submissions">
                    <h2>{tf!(i18n, submissions.title, n = n)}</h2>
                    <p class="muted">{t!(i18n, submissions.help)}</p>
                    <ul class="offer-list">{items}</ul>
                </section>
            }
        })
    };
    view! {
        {move || message.get().map(|m| view! { <p class="card error" role="alert">{m}</p> })}
        {list}
    }
}

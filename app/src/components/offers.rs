//! The helpers' offers waiting for a village, read from the server when the phone is online (they
//! come from the public wish wall, so there is nothing to show offline). The worker calls the
//! helper if need be and answers: accepting answers the server, then records the take-up on the
//! phone as an edit of the record ([`wall::take_up`]: the status moves on to 认领, dated today,
//! with the helper's name and kind), which syncs as any edit does; declining or hiding (abuse)
//! only answers.

use crate::api;
use crate::i18n::{t, use_i18n};
use crate::ids;
use crate::state::{use_state, AppState};
use crate::store::Db;
use crate::{tc, tf};
use leptos::prelude::*;
use shequ_model::month::china_date;
use shequ_model::record::validate_content;
use shequ_model::wall::{self, Decision, OfferView};
use shequ_model::Revision;

/// Accepts `o` and records the take-up on its record; the message to show when something fails.
/// `saved` tells the page a record was saved (it counts and sends it).
async fn accept(state: AppState, o: &OfferView, saved: Callback<()>) -> Result<(), String> {
    let db = Db::get().await.map_err(|e| e.to_string())?;
    let rec = db
        .record(&o.record.to_string())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| tc!(offers.no_record))?;
    let plan = state.plan_of(&rec).ok_or_else(|| tc!(offers.no_record))?;
    let form = plan
        .form(&rec.rev.form)
        .ok_or_else(|| tc!(offers.no_record))?;
    let today = china_date(ids::now_ms() as i64);
    let content = wall::take_up(form, &rec.rev.content, &o.name, &o.kind, &today)
        .ok_or_else(|| tc!(offers.not_open))?;
    if let Err(found) = validate_content(&plan, form, &content) {
        let why: Vec<String> = found.iter().map(|e| e.message.clone()).collect();
        return Err(tc!(offers.cannot, error = why.join(";")));
    }
    api::decide_offer(&o.id, Decision::Accept)
        .await
        .map_err(|e| e.to_string())?;
    let saving = async {
        let rev = Revision {
            rev: ids::new_id(),
            parent: Some(rec.rev.rev),
            resolves: rec.rivals().iter().map(|x| x.rev).collect(),
            device: db.device_id().await?,
            clock: 0,
            plan: plan.id.clone(),
            content,
            ..rec.rev.clone()
        };
        db.save(rev, ids::now_ms()).await
    };
    saving
        .await
        .map_err(|e| tc!(offers.accepted_unsaved, error = e))?;
    saved.run(());
    Ok(())
}

/// `saved` runs once an accepted offer's record is saved: a call through it, rather than to the
/// page's state, keeps the sync engine's own piece out of this one's.
#[component]
pub fn OfferInbox(unit: String, saved: Callback<()>) -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let (answered, set_answered) = signal(0u32);
    let unit = StoredValue::new(unit);
    let offers = LocalResource::new(move || {
        answered.track();
        async move { api::offers(&unit.get_value()).await.ok() }
    });
    let (message, set_message) = signal(None::<String>);
    let answer = Action::new_local(move |(o, d): &(OfferView, Decision)| {
        let (o, d) = (o.clone(), *d);
        async move {
            let done = match d {
                Decision::Accept => accept(state, &o, saved).await,
                _ => api::decide_offer(&o.id, d)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            };
            set_message.set(done.err());
            set_answered.update(|n| *n += 1);
        }
    });
    let list = move || {
        let list = offers.get().flatten().unwrap_or_default();
        (!list.is_empty()).then(|| {
            let n = list.len();
            let items = list
                .into_iter()
                .map(|o| {
                    let (a, d, h) = (o.clone(), o.clone(), o.clone());
                    let when = china_date(o.made_at);
                    let kind = (!o.kind.is_empty()).then(|| format!(" · {}", o.kind));
                    view! {
                        <li class="offer" data-testid="offer">
                            <strong>{o.what.clone()}</strong>
                            <p>{o.name.clone()}{kind}" · "<a href=format!("tel:{}", o.phone)>{o.phone.clone()}</a></p>
                            {(!o.note.is_empty()).then(|| view! { <p class="note">{o.note.clone()}</p> })}
                            <p class="muted">{when}</p>
                            <div class="offer-actions">
                                <button class="btn primary" disabled=move || answer.pending().get()
                                    on:click=move |_| { answer.dispatch_local((a.clone(), Decision::Accept)); }>{t!(i18n, offers.accept)}</button>
                                <button class="btn" disabled=move || answer.pending().get()
                                    on:click=move |_| { answer.dispatch_local((d.clone(), Decision::Decline)); }>{t!(i18n, offers.decline)}</button>
                                <button class="btn small" disabled=move || answer.pending().get()
                                    on:click=move |_| { answer.dispatch_local((h.clone(), Decision::Hide)); }>{t!(i18n, offers.hide)}</button>
                            </div>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="card offers" data-testid="offers">
                    <h2>{tf!(i18n, offers.title, n = n)}</h2>
                    <p class="muted">{t!(i18n, offers.help)}</p>
                    <ul class="offer-list">{items}</ul>
                </section>
            }
        })
    };
    // Outside the list, which an answer may leave empty.
    view! {
        {move || message.get().map(|m| view! { <p class="card error" role="alert" data-testid="offer-message">{m}</p> })}
        {list}
    }
}

//! Records read from the server a page at a time (加载更多): a unit's, for an account whose phone
//! does not keep its scope, or those behind one figure, for any supervisor. Nothing of it is
//! stored on the phone. Each record opens read-only with its history; on a phone that keeps its
//! scope, each also says where the phone's copy stands with the server.

use crate::api;
use crate::components::format;
use crate::components::photos::PhotoImg;
use crate::i18n::{t, t_string, use_i18n};
use crate::state::use_state;
use crate::store::{Db, LocalRecord};
use crate::{tc, tf};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shequ_model::auth::Holding;
use shequ_model::listing::{ListedRecord, RecordQuery, RECORD_PAGE};
use shequ_model::plan::PlanId;
use std::collections::HashMap;
use uuid::Uuid;

/// Which records a list shows beyond a unit's: those behind one figure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Behind {
    pub indicator: String,
    pub plan: Option<PlanId>,
    /// `YYYY-MM`: the figure as of the end of that month; now when none.
    pub as_of: Option<String>,
}

/// Which page to read: the first of a listing, or the one below `before`.
#[derive(Clone, Copy, PartialEq)]
enum Read {
    First,
    After(i64),
}

#[component]
pub fn RecordPages(unit: String, #[prop(optional)] behind: Option<Behind>) -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let (form, set_form) = signal(None::<String>);
    let (records, set_records) = signal(Vec::<ListedRecord>::new());
    // On a phone that keeps its scope: the sync mark of each listed record it holds.
    let (marks, set_marks) = signal(HashMap::<Uuid, LocalRecord>::new());
    let (next, set_next) = signal(None::<i64>);
    let (loading, set_loading) = signal(false);
    let (error, set_error) = signal(None::<String>);
    // Each listing (plan and form) gets a number, so a page of an earlier one arriving late is
    // dropped instead of mixed in.
    let (listing, set_listing) = signal(0u32);
    let behind = StoredValue::new(behind);
    let plan = Memo::new(move |_| {
        behind
            .with_value(|b| b.as_ref().and_then(|b| b.plan.clone()))
            .or_else(|| state.plan.with(|p| p.as_ref().map(|p| p.id.clone())))
    });

    let unit = StoredValue::new(unit);
    let load = {
        move |plan: PlanId, read: Read| {
            let query = RecordQuery {
                unit: unit.get_value(),
                plan: Some(plan.to_string()),
                form: form.get_untracked(),
                indicator: behind.with_value(|b| b.as_ref().map(|b| b.indicator.clone())),
                as_of: behind.with_value(|b| b.as_ref().and_then(|b| b.as_of.clone())),
                before: match read {
                    Read::First => None,
                    Read::After(seq) => Some(seq),
                },
                limit: Some(RECORD_PAGE),
            };
            let this = listing.get_untracked();
            let kept = state.holding() == Some(Holding::Kept);
            set_loading.set(true);
            set_error.set(None);
            spawn_local(async move {
                let page = api::records(&query).await;
                // Another listing began meanwhile, or the list is gone (its signals disposed).
                if listing.try_get_untracked() != Some(this) {
                    return;
                }
                set_loading.set(false);
                match page {
                    Ok(page) => {
                        if kept {
                            let held = held_marks(&page.records).await;
                            set_marks.update(|m| m.extend(held));
                        }
                        set_records.update(|r| r.extend(page.records));
                        set_next.set(page.next);
                    }
                    Err(e) if e.retry && e.auth.is_none() => {
                        set_error.set(Some(tc!(pages.offline)))
                    }
                    Err(e) => set_error.set(Some(e.message)),
                }
            });
        }
    };
    // A new listing whenever the plan or the form changes.
    Effect::new(move |_| {
        form.track();
        let Some(plan) = plan.get() else { return };
        set_listing.update(|n| *n += 1);
        set_records.set(Vec::new());
        set_next.set(None);
        load(plan, Read::First);
    });
    let more = move |_| {
        if let (Some(plan), Some(seq)) = (plan.get_untracked(), next.get_untracked()) {
            load(plan, Read::After(seq));
        }
    };

    let forms = move || state.form_choices();
    let form_name = move |id: &str| {
        state.plan.with(|p| {
            p.as_ref()
                .and_then(|p| p.form(id))
                .map(|f| f.name.clone())
                .unwrap_or_else(|| id.to_string())
        })
    };
    let item = move |r: ListedRecord| {
        let made = r.clone();
        let title = r
            .title
            .clone()
            .unwrap_or_else(|| t_string!(i18n, records.untitled).into());
        let id = r.record;
        let mark = move || {
            marks
                .with(|m| m.get(&id).map(|l| format::sync_mark(l, i18n.get_locale())))
                .map(|(mark, class)| {
                    view! { <span class=class data-testid="sync-mark">{mark}</span> }
                })
        };
        view! {
            <li class="record listed" data-testid="listed-record">
                <a href=format!("/view/{}", r.record)>
                    {r.photo.clone().map(|id| view! { <span class="thumb"><PhotoImg id=id/></span> })}
                    <div>
                        <span class="title">{title}</span>
                        {r.step.clone().map(|s| view! { <span class="badge" data-testid="record-step">{s}</span> })}
                        {r.conflict.then(|| view! { <span class="badge bad">{t!(i18n, format.conflict)}</span> })}
                        {mark}
                    </div>
                    <small class="muted">{format!("{} · {}", r.unit_name, form_name(&r.form))}</small>
                    <small class="muted" data-testid="record-author">{move || dates(&made)}</small>
                </a>
            </li>
        }
    };
    let heading = move || {
        if behind.with_value(Option::is_some) {
            t_string!(i18n, pages.behind)
        } else {
            t_string!(i18n, pages.area_records)
        }
    };

    view! {
        <section class="card" data-testid="record-pages">
            <h2>{heading}</h2>
            <label>{t!(i18n, pages.form)}
                <select data-testid="record-form" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set_form.set((!v.is_empty()).then_some(v));
                }>
                    <option value="">{t!(i18n, records.all)}</option>
                    {move || forms().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                </select>
            </label>
            <ul class="records">{move || records.get().into_iter().map(item).collect_view()}</ul>
            <Show when=move || !loading.get() && error.get().is_none() && next.get().is_none() && records.with(Vec::is_empty)>
                <p class="muted">{t!(i18n, records.none)}</p>
            </Show>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Show when=move || loading.get()>
                <p class="muted">{t!(i18n, app.loading)}</p>
            </Show>
            <Show when=move || next.get().is_some() && !loading.get()>
                <button class="btn" data-testid="load-more" on:click=more>{t!(i18n, pages.load_more)}</button>
            </Show>
        </section>
    }
}

/// The sync marks of the listed records the phone holds; the others were never on it.
async fn held_marks(records: &[ListedRecord]) -> Vec<(Uuid, LocalRecord)> {
    let Ok(db) = Db::get().await else {
        return Vec::new();
    };
    let mut marks = Vec::new();
    for r in records {
        if let Ok(Some(local)) = db.record(&r.record.to_string()).await {
            marks.push((r.record, local));
        }
    }
    marks
}

/// Who made a record and when; when it was last changed, if that was later.
fn dates(r: &ListedRecord) -> String {
    let i18n = use_i18n();
    let created = format::time(r.created_at.max(0) as u64);
    let updated = format::time(r.updated_at.max(0) as u64);
    if updated == created {
        tf!(i18n, pages.made, author = r.author, created = created)
    } else {
        tf!(
            i18n,
            pages.made_changed,
            author = r.author,
            created = created,
            updated = updated
        )
    }
}

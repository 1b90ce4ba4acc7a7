//! A record opened read-only, for a supervisor, with its history: the revisions the server keeps
//! (the newest of a long history, saying how many older ones it leaves out), who made each and
//! when, and what it changed field by field, conflicting versions included. A phone that keeps
//! its scope shows its own copy and asks the server for the history when told to; a phone that
//! reads its scope from the server reads both from it.

use crate::api;
use crate::components::format;
use crate::components::photos::PhotoStrip;
use crate::i18n::{t, t_string, use_i18n};
use crate::state::use_state;
use crate::store::Db;
use crate::tf;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use shequ_model::auth::Holding;
use shequ_model::history::{shown_fields, FieldChange, HistoryEntry, RecordHistory};
use shequ_model::plan::PlanId;
use shequ_model::record::Content;

#[component]
pub fn RecordView() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    move || match params.read().get("id") {
        Some(id) => view! { <Viewed id=id/> }.into_any(),
        None => view! { <p class="empty">{t!(i18n, app.not_found)}</p> }.into_any(),
    }
}

/// What the page shows of a record's current version.
#[derive(Clone, PartialEq)]
struct Shown {
    plan: PlanId,
    form: String,
    unit: String,
    content: Content,
    deleted: bool,
}

#[component]
fn Viewed(id: String) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_state();
    let kept = state.holding() == Some(Holding::Kept);
    let id = StoredValue::new(id);
    let local = LocalResource::new(move || async move {
        if !kept {
            return None;
        }
        let db = Db::get().await.ok()?;
        db.record(&id.get_value()).await.ok().flatten()
    });
    // A phone that reads from the server asks at once; one that keeps its scope, when told to or
    // when it does not hold the record.
    let (asked, set_asked) = signal(!kept);
    Effect::new(move |_| {
        if kept && local.get().is_some_and(|l| l.is_none()) {
            set_asked.set(true);
        }
    });
    let history = LocalResource::new(move || {
        let ask = asked.get();
        async move {
            if !ask {
                return None;
            }
            Some(api::record_history(&id.get_value()).await)
        }
    });
    let shown = move || -> Option<Shown> {
        if let Some(Some(l)) = local.get() {
            let plan = state.legacy_plan.with(|legacy| l.plan(legacy));
            return Some(Shown {
                plan,
                form: l.rev.form.clone(),
                unit: l.rev.unit.to_string(),
                content: l.rev.content.clone(),
                deleted: l.rev.deleted,
            });
        }
        let h: RecordHistory = history.get().flatten()?.ok()?;
        Some(Shown {
            plan: h.plan.clone(),
            form: h.form.clone(),
            unit: h.unit.to_string(),
            content: h.current.content.clone(),
            deleted: h.current.deleted,
        })
    };
    let current = move || {
        let s = shown()?;
        let form = state.plans.with(|p| {
            p.as_ref()
                .and_then(|p| p.get(&s.plan)?.form(&s.form).cloned())
        });
        let unit_name = state
            .area(&s.unit)
            .map(|a| a.name)
            .unwrap_or(s.unit.clone());
        let (name, fields) = match &form {
            Some(f) => (f.name.clone(), shown_fields(f, &s.content)),
            None => (s.form.clone(), vec![]),
        };
        let photos = form
            .as_ref()
            .map(|f| shequ_model::photo::refs(f, &s.content))
            .unwrap_or_default();
        let rows = fields
            .into_iter()
            .map(|(label, value)| view! { <dt>{label}</dt><dd>{value}</dd> })
            .collect_view();
        Some(view! {
            <section class="card" data-testid="record-view">
                <h2>{format!("{name} · {unit_name}")}</h2>
                {s.deleted.then(|| view! { <p class="badge bad">{t!(i18n, view.deleted)}</p> })}
                <dl class="fields">{rows}</dl>
                <PhotoStrip ids=photos/>
                <p class="muted">{t!(i18n, view.read_only)}</p>
            </section>
        })
    };
    let past = move || {
        match history.get().flatten() {
        None if asked.get() => view! { <p class="muted">{t!(i18n, app.loading)}</p> }.into_any(),
        None => view! {
            <button class="btn" data-testid="ask-history" on:click=move |_| set_asked.set(true)>{t!(i18n, view.ask_history)}</button>
        }
        .into_any(),
        Some(Err(e)) if e.retry && e.auth.is_none() => {
            view! { <p class="error" role="alert">{t!(i18n, view.history_offline)}</p> }.into_any()
        }
        Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        Some(Ok(h)) => view! { <History history=h/> }.into_any(),
    }
    };
    view! {
        <header class="bar">
            <button class="back link" on:click=move |_| {
                if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
                    let _ = h.back();
                }
            }>{t!(i18n, app.back)}</button>
            <h1>{t!(i18n, admin.view_record)}</h1>
        </header>
        {current}
        <section class="card">
            <h2>{t!(i18n, view.history)}</h2>
            {past}
        </section>
    }
}

#[component]
fn History(history: RecordHistory) -> impl IntoView {
    let i18n = use_i18n();
    let conflict = history.conflict.then(|| {
        view! { <p class="conflict" role="status" data-testid="history-conflict">{t!(i18n, view.history_conflict)}</p> }
    });
    let omitted = (history.omitted > 0).then(|| {
        view! { <p class="muted" data-testid="history-omitted">{move || tf!(i18n, view.omitted, n = history.omitted)}</p> }
    });
    // Newest first: what changed last is read first.
    let entries = history
        .revisions
        .into_iter()
        .rev()
        .map(|e| view! { <Entry entry=e/> })
        .collect_view();
    view! {
        {conflict}
        <ol class="history" data-testid="history">{entries}</ol>
        {omitted}
    }
}

#[component]
fn Entry(entry: HistoryEntry) -> impl IntoView {
    let i18n = use_i18n();
    let when = format::time(entry.received_at.max(0) as u64);
    let badges = [
        (entry.current, t_string!(i18n, view.current), "badge ok"),
        (
            entry.head && !entry.current,
            t_string!(i18n, view.rival),
            "badge bad",
        ),
        (
            !entry.resolves.is_empty(),
            t_string!(i18n, view.resolved),
            "badge",
        ),
        (
            entry.parent.is_none(),
            t_string!(i18n, view.created),
            "badge",
        ),
        (entry.deleted, t_string!(i18n, record.delete), "badge bad"),
    ]
    .into_iter()
    .filter(|(on, _, _)| *on)
    .map(|(_, text, class)| view! { <span class=class>{text}</span> })
    .collect_view();
    let changes = entry.changes.into_iter().map(change).collect_view();
    view! {
        <li data-testid="history-entry">
            <div>
                <strong data-testid="history-author">{entry.author}</strong>
                <span class="muted">{format!(" · {when}")}</span>
                {badges}
            </div>
            <ul class="changes">{changes}</ul>
        </li>
    }
}

fn change(c: FieldChange) -> impl IntoView {
    let i18n = use_i18n();
    let old = c.old.unwrap_or_else(|| t_string!(i18n, view.empty).into());
    let new = c.new.unwrap_or_else(|| t_string!(i18n, view.empty).into());
    view! {
        <li data-testid="field-change">
            <span class="label">{format!("{}:", c.label)}</span>
            <del>{old}</del>" → "<ins>{new}</ins>
        </li>
    }
}

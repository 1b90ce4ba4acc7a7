//! Creating and editing a record with the one generic form. Validation is the shared crate's, the
//! same the server runs; a half-filled entry is kept on the phone as a draft until it is saved,
//! and offered (继续上次填写 / 丢弃) when the form is opened again. A failed save lists the
//! problems on top and takes the worker to the first field that needs a change.

use crate::components::field::{FieldInput, PersonOption};
use crate::components::format;
use crate::components::later::LaterArchives;
use crate::i18n::{t, td_string, use_i18n, Locale};
use crate::state::use_state;
use crate::store::{Db, LocalRecord};
use crate::{api, ids};
use crate::{tc, tf};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use serde_json::Value;
use shequ_model::plan::{FieldKind, Form, Plan};
use shequ_model::record::{
    parse_number, validate_content, validate_transition, Content, FieldError,
};
use shequ_model::{Revision, UnitCode};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;
use wasm_bindgen::JsCast;

#[component]
pub fn NewRecord() -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let form = move || {
        let id = params.read().get("form")?;
        let plan = state.plan.get()?;
        let form = plan.form(&id).cloned()?;
        Some((plan, form))
    };
    // A record made from what a resident sent in from the wall (`?from=ID`) starts with it.
    let from = move || {
        query
            .read()
            .get("from")
            .and_then(|id| Uuid::parse_str(&id).ok())
    };
    let sent = LocalResource::new(move || {
        let (from, unit) = (from(), state.unit.get());
        async move {
            let (id, unit) = (from?, unit?);
            let all = api::submissions(unit.as_str()).await.ok()?;
            all.into_iter()
                .find(|s| s.id == id)
                .map(|s| (id, s.content))
        }
    });
    view! {
        {move || match (form(), state.unit.get(), from()) {
            (Some(_), Some(_), Some(_)) if sent.get().is_none() => view! { <p class="muted">{t!(i18n, app.loading)}</p> }.into_any(),
            (Some((plan, form)), Some(unit), _) => {
                let (from_submission, seed) = sent.get().flatten().unzip();
                view! { <RecordForm plan=plan form=form unit=unit existing=None seed=seed from_submission=from_submission /> }.into_any()
            }
            _ => view! { <p class="empty">{t!(i18n, record.no_form)}</p> }.into_any(),
        }}
    }
}

#[component]
pub fn EditRecord() -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let params = use_params_map();
    let found = LocalResource::new(move || {
        let id = params.read().get("id");
        async move {
            let db = Db::get().await.ok()?;
            db.record(&id?).await.ok().flatten()
        }
    });
    view! {
        {move || match found.get() {
            None => view! { <p class="muted">{t!(i18n, app.loading)}</p> }.into_any(),
            Some(None) => view! { <p class="empty">{t!(i18n, record.no_record)}</p> }.into_any(),
            // A record opens under its own plan, whichever plan is current now.
            Some(Some(rec)) => match state.plan_of(&rec) {
                None => view! { <p class="empty">{t!(i18n, record.no_plan)}</p> }.into_any(),
                Some(plan) => match plan.form(&rec.rev.form).cloned() {
                    Some(form) => view! { <RecordForm plan=plan form=form unit=rec.rev.unit.clone() existing=Some(rec) /> }.into_any(),
                    None => view! { <p class="empty">{t!(i18n, record.form_not_in_plan)}</p> }.into_any(),
                },
            },
        }}
    }
}

fn draft_key(form: &str, existing: &Option<LocalRecord>) -> String {
    match existing {
        Some(r) => format!("draft:{}", r.rev.record),
        None => format!("draft:new:{form}"),
    }
}

/// What saving the form would store: each number field's typed text read by the shared rule,
/// then the record checked as the server checks it. The problems come in form order.
fn to_save(
    plan: &Plan,
    form: &Form,
    typed: &Content,
    old: Option<&Content>,
) -> Result<Content, Vec<FieldError>> {
    let mut content = typed.clone();
    let mut problems = Vec::new();
    for f in form.fields.iter().filter(|f| f.kind == FieldKind::Number) {
        let Some(Value::String(text)) = content.get(&f.id).cloned() else {
            continue;
        };
        if text.trim().is_empty() {
            content.remove(&f.id);
            continue;
        }
        match parse_number(&text) {
            Ok(n) => {
                content.insert(f.id.clone(), Value::Number(n));
            }
            Err(message) => problems.push(FieldError {
                field: f.id.clone(),
                message,
            }),
        }
    }
    let unread: Vec<String> = problems.iter().map(|e| e.field.clone()).collect();
    let checked = validate_content(plan, form, &content)
        .err()
        .unwrap_or_default();
    let moved = old
        .and_then(|old| validate_transition(form, old, &content).err())
        .unwrap_or_default();
    // A number that could not be read is reported once, not again by the validation.
    problems.extend(
        checked
            .into_iter()
            .chain(moved)
            .filter(|e| !unread.contains(&e.field)),
    );
    problems.sort_by_key(|e| {
        form.fields
            .iter()
            .position(|f| f.id == e.field)
            .unwrap_or(usize::MAX)
    });
    if problems.is_empty() {
        Ok(content)
    } else {
        Err(problems)
    }
}

/// Brings a field of the form into view and puts the cursor in it.
fn focus_field(id: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(Some(field)) = doc.query_selector(&format!(".record-form .field[data-field=\"{id}\"]"))
    else {
        return;
    };
    // `.field` has a scroll margin, so the sticky title bar does not cover it.
    field.scroll_into_view();
    if let Ok(Some(input)) = field.query_selector("input, select, textarea") {
        if let Ok(input) = input.dyn_into::<web_sys::HtmlElement>() {
            let _ = input.focus();
        }
    }
}

/// What the form finds on the phone when it opens: a half-filled entry left from an earlier visit,
/// and the staff register for the person pickers.
#[derive(Clone)]
struct Found {
    draft: Option<Content>,
    people: Vec<PersonOption>,
}

async fn find(plan: &Plan, form: &Form, unit: &UnitCode, key: &str, initial: &Content) -> Found {
    let Ok(db) = Db::get().await else {
        return Found {
            draft: None,
            people: Vec::new(),
        };
    };
    let draft = db
        .meta::<Option<Content>>(key)
        .await
        .ok()
        .flatten()
        .flatten()
        .filter(|d| !d.is_empty() && d != initial);
    let registers: Vec<&str> = form
        .fields
        .iter()
        .filter(|f| f.kind == FieldKind::Person)
        .map(|f| f.register.as_str())
        .collect();
    let mut people = Vec::new();
    if !registers.is_empty() {
        let recs = db.records_in(unit.as_str()).await.unwrap_or_default();
        for r in recs
            .iter()
            .filter(|r| registers.contains(&r.rev.form.as_str()) && !r.rev.deleted)
        {
            let title = plan
                .form(&r.rev.form)
                .map(|f| f.title_field.as_str())
                .unwrap_or_default();
            let name = r
                .rev
                .content
                .get(title)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            people.push((r.rev.record.to_string(), name));
        }
    }
    Found { draft, people }
}

/// Stores a revision made on this page (with this device's id) by the account named `author`,
/// and drops the page's draft.
async fn store(
    rev: Revision,
    draft_key: &str,
    author: &str,
    form: &Form,
) -> Result<(), crate::store::StoreError> {
    let db = Db::get().await?;
    let rev = Revision {
        device: db.device_id().await?,
        ..rev
    };
    let photos = if rev.deleted {
        vec![]
    } else {
        shequ_model::photo::refs(form, &rev.content)
    };
    db.save_from_draft(rev, ids::now_ms(), draft_key, author, &photos)
        .await?;
    Ok(())
}

#[component]
fn RecordForm(
    plan: Arc<Plan>,
    form: Form,
    unit: UnitCode,
    existing: Option<LocalRecord>,
    /// What a new record starts with (a resident's submission from the wall).
    #[prop(default = None)]
    seed: Option<Content>,
    /// The submission a new record is made from: answered as taken once the record is saved.
    #[prop(default = None)]
    from_submission: Option<Uuid>,
) -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let navigate = use_navigate();
    let initial: Content = existing
        .as_ref()
        .map(|r| r.rev.content.clone())
        .or(seed)
        .unwrap_or_default();
    // What the worker has entered; a number field holds its text as typed until save.
    let values = RwSignal::new(initial.clone());
    let problems = RwSignal::new(Vec::<FieldError>::new());
    let key = draft_key(&form.id, &existing);
    let found = {
        let (plan, form, unit, key, initial) = (
            plan.clone(),
            form.clone(),
            unit.clone(),
            key.clone(),
            initial.clone(),
        );
        LocalResource::new(move || {
            let (plan, form, unit, key, initial) = (
                plan.clone(),
                form.clone(),
                unit.clone(),
                key.clone(),
                initial.clone(),
            );
            async move { find(&plan, &form, &unit, &key, &initial).await }
        })
    };
    let looked = move || found.with(Option::is_some);
    let people = Signal::derive(move || found.get().map(|f| f.people).unwrap_or_default());
    // A draft left from an earlier visit is offered, not forced: the form shows once the worker
    // has chosen to continue it or to discard it.
    let answered = RwSignal::new(false);
    let offer = move || {
        if answered.get() {
            None
        } else {
            found.get().and_then(|f| f.draft)
        }
    };

    // The draft follows every change as the worker types, so a killed tab loses nothing; a form
    // back where it started leaves no draft.
    {
        let key = key.clone();
        let initial = initial.clone();
        Effect::new(move |first: Option<()>| {
            let now = values.get();
            if first.is_none() {
                return;
            }
            let key = key.clone();
            let changed = now != initial;
            leptos::task::spawn_local(async move {
                if let Ok(db) = Db::get().await {
                    let _ = if changed {
                        db.set_meta(&key, &Some(now)).await
                    } else {
                        db.delete_meta(&key).await
                    };
                }
            });
        });
    }
    let take_draft = move |_: leptos::ev::MouseEvent| {
        if let Some(d) = offer() {
            values.set(d);
        }
        answered.set(true);
    };
    // Back to where the form started: the draft effect then forgets the draft.
    let discard_draft = {
        let initial = initial.clone();
        move |_: leptos::ev::MouseEvent| {
            answered.set(true);
            values.set(initial.clone());
        }
    };

    // Saving and deleting store a revision, then go home; a failure keeps the worker here.
    let write = {
        let key = key.clone();
        let form = form.clone();
        Action::new_local(move |rev: &Revision| {
            let (rev, key, navigate) = (rev.clone(), key.clone(), navigate.clone());
            let form = form.clone();
            async move {
                let author = state.account().map(|a| a.name).unwrap_or_default();
                store(rev, &key, &author, &form).await?;
                if let Some(id) = from_submission {
                    // Saved here whatever the answer: the worker can hide it later if this fails.
                    let _ = api::decide_submission(&id, shequ_model::wall::Decision::Accept).await;
                }
                state.record_saved().await;
                navigate("/", Default::default());
                Ok::<_, crate::store::StoreError>(())
            }
        })
    };
    let message = move || {
        write
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| tf!(i18n, record.save_failed, error = e))
    };

    let plan_for_title = plan.clone();
    let form_for_save = form.clone();
    let existing_for_save = existing.clone();
    let archives = existing
        .clone()
        .map(|member| view! { <LaterArchives plan=plan.clone() member=member/> });
    let save = move |_| {
        let old = existing_for_save.as_ref().map(|r| &r.rev.content);
        let content = match to_save(&plan, &form_for_save, &values.get_untracked(), old) {
            Ok(content) => content,
            Err(found) => {
                let first = found[0].field.clone();
                problems.set(found);
                // Once the messages are drawn, so the page scrolls to where the field now is.
                request_animation_frame(move || focus_field(&first));
                return;
            }
        };
        problems.set(Vec::new());
        write.dispatch_local(Revision {
            record: existing_for_save
                .as_ref()
                .map(|r| r.rev.record)
                .unwrap_or_else(ids::new_id),
            rev: ids::new_id(),
            parent: existing_for_save.as_ref().map(|r| r.rev.rev),
            // The worker has seen the conflicting versions on this page: saving settles them.
            resolves: existing_for_save
                .as_ref()
                .map(|r| r.rivals().iter().map(|x| x.rev).collect())
                .unwrap_or_default(),
            device: String::new(),
            clock: 0,
            form: form_for_save.id.clone(),
            // A new record belongs to the current plan; an edit stays in the record's plan.
            plan: plan.id.clone(),
            unit: unit.clone(),
            deleted: false,
            content,
        });
    };

    let saved_states: BTreeMap<String, String> = existing
        .as_ref()
        .map(|r| {
            r.rev
                .content
                .iter()
                .filter_map(|(k, v)| {
                    v.get("state")
                        .and_then(|s| s.as_str())
                        .map(|s| (k.clone(), s.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let rivals = existing.as_ref().map(|r| r.rivals()).unwrap_or_default();
    let labels: Vec<(String, String)> = form
        .fields
        .iter()
        .map(|f| (f.id.clone(), f.label.clone()))
        .collect();
    let conflict_box = (!rivals.is_empty()).then(|| {
        let versions = rivals.into_iter().map(|r| {
            let summary: Vec<String> = labels.iter().filter_map(|(id, label)| r.content.get(id).map(|v| format!("{label}:{}", show(v, i18n.get_locale())))).collect();
            let content = r.content.clone();
            view! {
                <li>
                    <p>{summary.join(";")}</p>
                    <button type="button" class="btn small" on:click=move |_| values.set(content.clone())>{t!(i18n, record.take_version)}</button>
                </li>
            }
        }).collect_view();
        view! {
            <section class="conflict" data-testid="conflict" role="alert">
                <strong>{t!(i18n, record.changed_elsewhere)}</strong>
                <p class="muted">{t!(i18n, record.other_versions)}</p>
                <ul>{versions}</ul>
            </section>
        }
    });
    let delete = existing.clone().map(|old| {
        view! {
            <button type="button" class="btn danger big" on:click=move |_| {
                let ok = web_sys::window().and_then(|w| w.confirm_with_message(&tc!(record.confirm_delete)).ok()).unwrap_or(false);
                if !ok { return; }
                write.dispatch_local(Revision {
                    rev: ids::new_id(),
                    parent: Some(old.rev.rev),
                    resolves: old.rivals().iter().map(|x| x.rev).collect(),
                    deleted: true,
                    ..old.rev.clone()
                });
            }>{t!(i18n, record.delete)}</button>
        }
    });
    let fields = form.fields.clone();
    let editing = existing.is_some();
    let form_name = form.name.clone();
    let title = move || {
        if editing {
            tf!(i18n, record.edit_title, form = form_name)
        } else {
            tf!(i18n, record.new_title, form = form_name)
        }
    };
    let title_field = form.title_field.clone();
    let current_plan = state.plan.get_untracked();
    let other_plan = move || {
        format::other_plan(
            Some(&plan_for_title),
            current_plan.as_deref(),
            i18n.get_locale(),
        )
    };
    let draft_offer = move || {
        offer().map(|d| d.get(&title_field).and_then(Value::as_str).unwrap_or("").to_string()).map(|name| {
            let discard_draft = discard_draft.clone();
            view! {
                <section class="card draft-offer" data-testid="draft-offer">
                    <strong>{t!(i18n, record.draft)}</strong>
                    {(!name.is_empty()).then(|| view! { <p class="muted">{tf!(i18n, record.draft_title, name = name)}</p> })}
                    <button type="button" class="btn primary big" on:click=take_draft>{t!(i18n, record.draft_take)}</button>
                    <button type="button" class="btn big" on:click=discard_draft>{t!(i18n, record.draft_discard)}</button>
                </section>
            }
        })
    };
    let summary = move || {
        problems.with(|found| {
            (!found.is_empty()).then(|| {
                let items = found
                    .iter()
                    .map(|e| {
                        let label = labels.iter().find(|(id, _)| *id == e.field).map_or(e.field.as_str(), |(_, l)| l.as_str());
                        let text = format!("{label}:{}", e.message);
                        let id = e.field.clone();
                        view! { <li><button type="button" class="link" on:click=move |_| focus_field(&id)>{text}</button></li> }
                    })
                    .collect_view();
                view! {
                    <section class="form-errors" role="alert" data-testid="form-errors">
                        <strong>{tf!(i18n, record.problems, n = found.len())}</strong>
                        <ul>{items}</ul>
                    </section>
                }
            })
        })
    };
    view! {
        <header class="bar">
            <a href="/" class="back">{t!(i18n, app.back)}</a>
            <h1>{title}</h1>
        </header>
        {move || other_plan().map(|p| view! { <p class="muted" data-testid="record-plan">{tf!(i18n, record.of_plan, plan = p)}</p> })}
        {move || (!looked()).then(|| view! { <p class="muted">{t!(i18n, app.loading)}</p> })}
        {draft_offer}
        <div hidden=move || !looked() || offer().is_some()>
            {conflict_box}
            <form class="record-form" on:submit=move |ev| ev.prevent_default()>
                {summary}
                {fields.into_iter().map(|f| {
                    let fid = f.id.clone();
                    let error = Signal::derive(move || problems.with(|p| p.iter().find(|e| e.field == fid).map(|e| e.message.clone())));
                    let saved = saved_states.get(&f.id).cloned();
                    view! {
                        <FieldInput field=f values=values error=error saved_state=saved people=people />
                    }
                }).collect_view()}
                {move || message().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                <button type="button" class="btn primary big" on:click=save disabled=move || write.pending().get()>{t!(i18n, record.save)}</button>
                {delete}
            </form>
        </div>
        {archives}
    }
}

fn show(v: &serde_json::Value, locale: Locale) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => if *b {
            td_string!(locale, shown.yes)
        } else {
            td_string!(locale, shown.no)
        }
        .into(),
        serde_json::Value::Array(a) => a
            .iter()
            .map(|x| show(x, locale))
            .collect::<Vec<_>>()
            .join(td_string!(locale, format.list)),
        serde_json::Value::Object(o) => o.get("state").map(|x| show(x, locale)).unwrap_or_default(),
        other => other.to_string(),
    }
}

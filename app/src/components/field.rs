//! One input for any field of any form: the plan decides which widget a field gets.

use crate::i18n::{t, t_string, use_i18n};
use crate::tf;
use leptos::prelude::*;
use serde_json::{json, Value};
use shequ_model::plan::{Field, FieldKind};
use shequ_model::record::{Content, StatusValue};

/// A person the staff register offers: (record id, name).
pub type PersonOption = (String, String);

fn text_of(values: RwSignal<Content>, id: &str) -> String {
    values.with(|c| match c.get(id) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => if *b { "true" } else { "false" }.into(),
        _ => String::new(),
    })
}

fn set(values: RwSignal<Content>, id: &str, v: Option<Value>) {
    let id = id.to_owned();
    values.update(|c| match v {
        Some(v) => {
            c.insert(id, v);
        }
        None => {
            c.remove(&id);
        }
    });
}

#[component]
pub fn FieldInput(
    field: Field,
    values: RwSignal<Content>,
    #[prop(into)] error: Signal<Option<String>>,
    /// The state a status field had when the record was opened (none for a new record).
    saved_state: Option<String>,
    /// The staff register, for person fields; it may arrive after the form opens.
    #[prop(into)]
    people: Signal<Vec<PersonOption>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = field.id.clone();
    let label = if field.required {
        format!("{} *", field.label)
    } else {
        field.label.clone()
    };
    let name = format!("field-{}", field.id);
    let input = match field.kind {
        FieldKind::Text | FieldKind::Date => {
            let kind = if field.kind == FieldKind::Date {
                "date"
            } else {
                "text"
            };
            let (a, b) = (id.clone(), id.clone());
            view! {
                <input type=kind name=name.clone() prop:value=move || text_of(values, &a)
                    on:input=move |ev| { let v = event_target_value(&ev); set(values, &b, (!v.is_empty()).then(|| json!(v))); } />
            }
            .into_any()
        }
        FieldKind::LongText => {
            let (a, b) = (id.clone(), id.clone());
            view! {
                <textarea name=name.clone() rows="3" prop:value=move || text_of(values, &a)
                    on:input=move |ev| { let v = event_target_value(&ev); set(values, &b, (!v.is_empty()).then(|| json!(v))); }></textarea>
            }
            .into_any()
        }
        FieldKind::Number => {
            let (a, b) = (id.clone(), id.clone());
            let unit = field.unit.clone();
            // The input keeps exactly what was typed, a half-typed `1.` or an IME's `１２`
            // included; the form reads it as a number only on save (`record::parse_number`).
            // Writing a parsed number back on every keystroke turned `2` into `2.0`, so `23`
            // became `2.03`. The memo re-sets the input only when the text changes from
            // elsewhere: a draft taken up, or another version adopted.
            let text = Memo::new(move |_| text_of(values, &a));
            view! {
                <span class="with-unit">
                    <input type="text" inputmode="decimal" name=name.clone() prop:value=text
                        on:input=move |ev| { let v = event_target_value(&ev); set(values, &b, (!v.is_empty()).then(|| json!(v))); } />
                    <span class="unit">{unit}</span>
                </span>
            }
            .into_any()
        }
        FieldKind::Choice => {
            let (a, b) = (id.clone(), id.clone());
            let options = field.options.clone();
            view! {
                <select name=name.clone() prop:value=move || text_of(values, &a)
                    on:change=move |ev| { let v = event_target_value(&ev); set(values, &b, (!v.is_empty()).then(|| json!(v))); }>
                    <option value="">{t!(i18n, field.choose)}</option>
                    {options.into_iter().map(|o| view! { <option value=o.clone()>{o.clone()}</option> }).collect_view()}
                </select>
            }
            .into_any()
        }
        FieldKind::Person => {
            let (a, b) = (id.clone(), id.clone());
            view! {
                <select name=name.clone() prop:value=move || text_of(values, &a)
                    on:change=move |ev| { let v = event_target_value(&ev); set(values, &b, (!v.is_empty()).then(|| json!(v))); }>
                    <option value="">{move || if people.with(|p| p.is_empty()) { t_string!(i18n, field.no_people) } else { t_string!(i18n, field.choose) }}</option>
                    {move || people.get().into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                </select>
            }
            .into_any()
        }
        FieldKind::YesNo => {
            let (a, b) = (id.clone(), id.clone());
            view! {
                <select name=name.clone() prop:value=move || text_of(values, &a)
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        set(values, &b, match v.as_str() { "true" => Some(json!(true)), "false" => Some(json!(false)), _ => None });
                    }>
                    <option value="">{t!(i18n, field.unanswered)}</option>
                    <option value="true">{t!(i18n, shown.yes)}</option>
                    <option value="false">{t!(i18n, shown.no)}</option>
                </select>
            }
            .into_any()
        }
        FieldKind::MultiChoice => {
            let boxes = field.options.iter().map(|o| {
                let (a, b, o1, o2) = (id.clone(), id.clone(), o.clone(), o.clone());
                let checked = move || values.with(|c| c.get(&a).and_then(Value::as_array).is_some_and(|l| l.iter().any(|x| x.as_str() == Some(&o1))));
                view! {
                    <label class="check">
                        <input type="checkbox" prop:checked=checked on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            let mut list: Vec<Value> = values.with(|c| c.get(&b).and_then(Value::as_array).cloned().unwrap_or_default());
                            list.retain(|x| x.as_str() != Some(&o2));
                            if on { list.push(json!(o2.clone())); }
                            set(values, &b, (!list.is_empty()).then_some(Value::Array(list)));
                        } />
                        {o.clone()}
                    </label>
                }
            }).collect_view();
            view! { <span class="checks">{boxes}</span> }.into_any()
        }
        FieldKind::Status => status_input(&field, values, saved_state).into_any(),
        FieldKind::Photos => view! {
            <crate::components::later::LaterPhotoField field=id.clone() label=field.label.clone() values=values/>
        }
        .into_any(),
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some() data-field=id.clone()>
            <label class="field-label">{label}</label>
            {input}
            {(!field.help.is_empty()).then(|| view! { <small class="muted">{field.help.clone()}</small> })}
            {move || error.get().map(|e| view! { <small class="error">{e}</small> })}
        </div>
    }
}

fn status_input(field: &Field, values: RwSignal<Content>, saved: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let id = field.id.clone();
    let current = {
        let id = id.clone();
        move || {
            values.with(|c| {
                c.get(&id)
                    .and_then(|v| serde_json::from_value::<StatusValue>(v.clone()).ok())
            })
        }
    };
    // A new record may start at any state; an edit moves only along the plan's transitions.
    let choices: Vec<String> = match &saved {
        None => field.states.clone(),
        Some(s) => field
            .states
            .iter()
            .filter(|x| *x == s || field.transitions.iter().any(|[a, b]| a == s && b == *x))
            .cloned()
            .collect(),
    };
    let states = field.states.clone();
    let dated = field.dated;
    let (sid, cur1, cur2) = (id.clone(), current.clone(), current.clone());
    let date_inputs = move || {
        let Some(cur) = cur1() else { return Vec::new() };
        let reached = states.iter().position(|s| *s == cur.state).unwrap_or(0);
        states[..=reached]
            .iter()
            .map(|s| {
                let (s1, s2, id2) = (s.clone(), s.clone(), sid.clone());
                let step = s.clone();
                let cur_for_value = cur.clone();
                view! {
                    <label class="sub">{move || tf!(i18n, field.step_date, step = step)}
                        <input type="date" name=format!("field-{}-{}", sid, s)
                            prop:value=move || cur_for_value.dates.get(&s1).cloned().unwrap_or_default()
                            on:input=move |ev| {
                                let v = event_target_value(&ev);
                                values.update(|c| {
                                    let mut st: StatusValue = c.get(&id2).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
                                    if v.is_empty() { st.dates.remove(&s2); } else { st.dates.insert(s2.clone(), v); }
                                    c.insert(id2.clone(), serde_json::to_value(st).expect("status is JSON"));
                                });
                            } />
                    </label>
                }
            })
            .collect::<Vec<_>>()
    };
    let id3 = id.clone();
    view! {
        <div class="status">
            <select name=format!("field-{id}") prop:value=move || cur2().map(|c| c.state).unwrap_or_default()
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    values.update(|c| {
                        if v.is_empty() { c.remove(&id3); return; }
                        let mut st: StatusValue = c.get(&id3).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
                        st.state = v;
                        c.insert(id3.clone(), serde_json::to_value(st).expect("status is JSON"));
                    });
                }>
                <option value="">{t!(i18n, field.choose)}</option>
                {choices.into_iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
            </select>
            {move || if dated { date_inputs() } else { Vec::new() }}
        </div>
    }
}

//! A person's archive on their register record: for each share over people of the plan (for the
//! staff register, 社区工作人员年度培训课时达标率), the records on the phone that point at the
//! person and their total beside what the plan asks of them, by the rule the figure counts them
//! with ([`rollup::person_archives`]). For a worker it is the person's 继续教育档案.

use crate::i18n::{t, use_i18n};
use crate::state::use_state;
use crate::store::{Db, LocalRecord};
use crate::tf;
use leptos::prelude::*;
use shequ_model::plan::{FieldKind, Plan};
use shequ_model::rollup;
use shequ_model::shown::number;
use shequ_model::Revision;
use std::sync::Arc;

/// What one archive shows, read from the phone when the record opens.
#[derive(Clone)]
struct Shown {
    form: String,
    indicator: String,
    unit: String,
    total: rollup::MemberTotal,
    /// Each record: its id, date, title and number.
    rows: Vec<(String, String, String, String)>,
}

fn shown(plan: &Plan, member: &Revision, held: &[Revision]) -> Vec<Shown> {
    rollup::person_archives(plan, member, held)
        .into_iter()
        .map(|a| {
            let date = a
                .form
                .fields
                .iter()
                .find(|f| f.kind == FieldKind::Date)
                .map(|f| f.id.as_str());
            let text = |r: &Revision, id: Option<&str>| {
                id.and_then(|id| r.content.get(id))
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let mut rows: Vec<_> = a
                .records
                .iter()
                .map(|r| {
                    let n = r.content.get(&a.sum_field.id).and_then(|v| v.as_f64());
                    (
                        r.record.to_string(),
                        text(r, date),
                        text(r, Some(&a.form.title_field)),
                        n.map(number).unwrap_or_else(|| "—".into()),
                    )
                })
                .collect();
            rows.sort_by(|x, y| x.1.cmp(&y.1));
            Shown {
                form: a.form.name.clone(),
                indicator: a.indicator.name.clone(),
                unit: a.sum_field.unit.clone(),
                total: a.total,
                rows,
            }
        })
        .collect()
}

#[component]
pub fn PersonArchives(plan: Arc<Plan>, member: LocalRecord) -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let unit = member.rev.unit.clone();
    let member = member.rev;
    let archives = LocalResource::new(move || {
        let (plan, member, unit) = (plan.clone(), member.clone(), unit.clone());
        async move {
            let held = Db::get().await.ok()?.records_in(unit.as_str()).await.ok()?;
            let held: Vec<Revision> = state.legacy_plan.with_untracked(|legacy| {
                held.into_iter()
                    .filter(|r| r.plan(legacy) == plan.id)
                    .map(|r| r.rev)
                    .collect()
            });
            Some(shown(&plan, &member, &held))
        }
    });
    move || {
        archives.get().flatten().map(|all| {
            all.into_iter()
                .map(|a| {
                    let unit = a.unit.clone();
                    let total = number(a.total.total);
                    let standing = match a.total.required {
                        None => tf!(i18n, record.archive_total, total = total, unit = unit.clone()),
                        Some(need) if a.total.met() => tf!(i18n, record.archive_met, total = total, need = number(need), unit = unit.clone()),
                        Some(need) => tf!(i18n, record.archive_short, total = total, need = number(need), short = number(need - a.total.total), unit = unit.clone()),
                    };
                    let tone = if a.total.met() { "standing tone-met" } else { "standing tone-low" };
                    let empty = a.rows.is_empty();
                    let rows = a.rows.into_iter().map(|(id, date, title, n)| view! {
                        <li><a href=format!("/record/{id}")><span class="muted">{date}</span>" "{title}" "<strong>{n}</strong>{unit.clone()}</a></li>
                    }).collect_view();
                    view! {
                        <section class="card archive" data-testid="person-archive">
                            <h2>{tf!(i18n, record.archive_title, form = a.form)}</h2>
                            <p class=tone data-testid="archive-total">{standing}</p>
                            <p class="muted">{tf!(i18n, record.archive_counts, indicator = a.indicator)}</p>
                            {if empty {
                                view! { <p class="empty">{t!(i18n, record.archive_empty)}</p> }.into_any()
                            } else {
                                view! { <ul class="archive-rows">{rows}</ul> }.into_any()
                            }}
                        </section>
                    }
                })
                .collect_view()
        })
    }
}

//! Choosing the village this phone records for (accounts replace this later).

use crate::state::use_state;
use leptos::prelude::*;
use shequ_model::Level;

#[component]
pub fn VillagePicker() -> impl IntoView {
    let state = use_state();
    let (town, set_town) = signal(String::new());
    let (village, set_village) = signal(String::new());
    let towns = move || state.areas.with(|a| a.iter().filter(|x| x.level == Level::Town).cloned().collect::<Vec<_>>());
    let villages = move || {
        let t = town.get();
        state.areas.with(|a| a.iter().filter(|x| x.level == Level::Village && x.parent == t).cloned().collect::<Vec<_>>())
    };
    view! {
        <section class="card">
            <h2>"选择本村(社区)"</h2>
            <Show when=move || !state.areas.with(|a| a.is_empty())
                fallback=|| view! { <p class="muted">"正在读取单位列表……首次使用需要联网。"</p> }>
                <label>"镇(街)"
                    <select data-testid="town-select" on:change=move |ev| { set_town.set(event_target_value(&ev)); set_village.set(String::new()); }>
                        <option value="">"请选择"</option>
                        {move || towns().into_iter().map(|t| view! { <option value=t.code.clone()>{t.name.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"村(社区)"
                    <select data-testid="village-select" prop:value=move || village.get() on:change=move |ev| set_village.set(event_target_value(&ev))>
                        <option value="">"请选择"</option>
                        {move || villages().into_iter().map(|v| view! { <option value=v.code.clone()>{v.name.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <button class="btn primary" disabled=move || village.get().is_empty()
                    on:click=move |_| state.choose_village(village.get())>"确定"</button>
            </Show>
        </section>
    }
}

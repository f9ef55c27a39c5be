//! The one theme module: a light and a dark palette, spacing and type sizes, and the named
//! styles the screens use (`primary`, `danger`, `card`, …), so every screen looks the same;
//! and the small widgets several screens share ([`mono`] and [`field`] for values, [`progress`]
//! for a running job with Cancel).

use iced::widget::text::{IntoFragment, Wrapping};
use iced::widget::{button, column, container, progress_bar, row, space, text};
use iced::{Alignment, Border, Color, Element, Font, Length, Theme, color};

/// Space between related elements.
pub const GAP: f32 = 8.0;
/// Space between groups.
pub const SECTION: f32 = 20.0;
/// Padding inside a screen.
pub const PAD: f32 = 24.0;
/// Body text size.
pub const BODY: f32 = 15.0;
/// Small print (ids, CIDs, hints).
pub const SMALL: f32 = 13.0;
/// Screen titles.
pub const TITLE: f32 = 26.0;
/// Section headings.
pub const HEADING: f32 = 19.0;

/// The light theme.
pub fn light() -> Theme {
    Theme::custom(
        "cim-keys light",
        iced::theme::Palette {
            background: color!(0xf6f7f9),
            text: color!(0x1c2430),
            primary: color!(0x2f5fd0),
            success: color!(0x1f8a5b),
            warning: color!(0xb7791f),
            danger: color!(0xc53030),
        },
    )
}

/// The dark theme.
pub fn dark() -> Theme {
    Theme::custom(
        "cim-keys dark",
        iced::theme::Palette {
            background: color!(0x161b22),
            text: color!(0xe6edf3),
            primary: color!(0x5b8def),
            success: color!(0x3fb27f),
            warning: color!(0xd29922),
            danger: color!(0xf16d6d),
        },
    )
}

/// The main action of a form.
pub fn primary(theme: &Theme, status: button::Status) -> button::Style {
    rounded(button::primary(theme, status))
}

/// A secondary action.
pub fn secondary(theme: &Theme, status: button::Status) -> button::Style {
    rounded(button::secondary(theme, status))
}

/// A destructive action (revoke, lock).
pub fn danger(theme: &Theme, status: button::Status) -> button::Style {
    rounded(button::danger(theme, status))
}

/// A navigation entry; `active` for the current screen.
pub fn nav(active: bool) -> impl Fn(&Theme, button::Status) -> button::Style {
    move |theme, status| {
        if active { rounded(button::primary(theme, status)) } else { rounded(button::text(theme, status)) }
    }
}

fn rounded(style: button::Style) -> button::Style {
    button::Style { border: Border { radius: 6.0.into(), ..style.border }, ..style }
}

/// A raised panel.
pub fn card(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(palette.background.weak.color.into()),
        border: Border { radius: 8.0.into(), width: 1.0, color: palette.background.strong.color },
        ..container::Style::default()
    }
}

/// The side bar.
pub fn sidebar(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style { background: Some(palette.background.weak.color.into()), ..container::Style::default() }
}

/// Error text.
pub fn error(theme: &Theme) -> text::Style {
    text::Style { color: Some(theme.palette().danger) }
}

/// Success text.
pub fn success(theme: &Theme) -> text::Style {
    text::Style { color: Some(theme.palette().success) }
}

/// Muted text (ids, hints).
pub fn muted(theme: &Theme) -> text::Style {
    let text = theme.palette().text;
    text::Style { color: Some(Color { a: 0.65, ..text }) }
}

/// A public value (a path, a URL, a hash, a fingerprint) in small monospace, broken anywhere to
/// fit.
pub fn mono<'a>(value: impl IntoFragment<'a>) -> text::Text<'a> {
    text(value).size(SMALL).font(Font::MONOSPACE).width(Length::Fill).wrapping(Wrapping::WordOrGlyph)
}

/// A muted label `label_width` wide and a [`mono`] value after it.
pub fn field<'a, M: 'a>(label: &'a str, label_width: f32, value: impl IntoFragment<'a>) -> Element<'a, M> {
    row![text(label).size(SMALL).style(muted).width(label_width), mono(value)].spacing(GAP).into()
}

/// A running job in a card: what it does (`Cancelling…` once cancelled) and `done of total
/// events`, a progress bar, and a muted `note` beside a Cancel button that sends `cancel` until
/// the job is cancelling.
pub fn progress<'a, M: Clone + 'a>(
    label: &'a str,
    (done, total): (u64, u64),
    cancelling: bool,
    note: &'a str,
    cancel: M,
) -> Element<'a, M> {
    let count = if total > 0 { format!("{done} of {total} events") } else { String::new() };
    let content = column![
        row![
            text(if cancelling { "Cancelling…" } else { label }).size(HEADING),
            space::horizontal(),
            text(count).size(SMALL),
        ]
        .align_y(Alignment::Center),
        progress_bar(0.0..=total.max(1) as f32, done as f32).girth(10),
        row![
            text(note).size(SMALL).style(muted).width(Length::Fill),
            button(text("Cancel")).style(danger).on_press_maybe((!cancelling).then_some(cancel)),
        ]
        .spacing(GAP)
        .align_y(Alignment::Center),
    ]
    .spacing(GAP);
    container(content).padding(PAD / 2.0).width(Length::Fill).style(card).into()
}

//! GUI benchmarks (feature `gui`): what the desktop application does when it opens a vault,
//! shows an organization and draws the graph, headless, on vaults of two sizes.
//!
//! "Building a view" is what the application does, through its own screens and jobs: the
//! screen's `State::new`, the jobs it asks for run as the root runs them (`Session::run`, here
//! on the benchmark's thread), their replies fed back to the screen, then one frame of the UI
//! thread: `view()`, laid out in a 1200×800 window (iced's `UserInterface::build`: widget tree,
//! text shaping, layout) and drawn with the software renderer, tiny-skia (`UserInterface::draw`:
//! the primitives and canvas geometry of the frame). For the organization views the pixels are
//! not rasterized: rasterizing a window costs the same for both vault sizes, so leaving it out
//! makes the ratios stricter, not looser. The graph frame is rasterized, because there the
//! question is what the UI thread pays per frame. Vaults are built once per run with
//! `execute_all` (an organization, 10 units, people in one unit each).
//!
//! * `gui first view`: a 100,000-event vault vs a 1,000-event vault: what follows unlocking in
//!   the application — `jobs::vault::open` (`Vault::open`, then the passphrase checked by
//!   unwrapping the master key: one KDF run), then the Organization screen (the organizations
//!   and the first page of people of the only organization) and its first frame. Both vaults use
//!   `KdfParams::MINIMUM`: the KDF costs the same whatever the vault holds, and would only
//!   dilute the ratio. Target: within 2×, ratio small/large ≥ 0.5.
//! * `gui organization view`: 10,000 people vs 100 people, vaults opened once: the Organization
//!   screen's load job and its first frame. Target: within 3×, ratio small/large ≥ 0.33.
//! * `gui graph frame`: a graph of 1,000 nodes (the organization, 10 units, 989 people): one
//!   frame of the Events screen's graph tab on the UI thread (after a pan, which clears the
//!   canvas cache, so the picture is drawn again from the precomputed positions and rasterized)
//!   vs the graph job that runs off the UI thread (read the graph, lay it out). Printed for
//!   scale, not judged: the frame not rasterized (what the UI thread keeps when a GPU renders),
//!   the frame with the canvas cache warm, and the layout alone. Target: the job costs at
//!   least 5 UI frames, ratio job/frame ≥ 5 — had the layout run on the UI thread, it would
//!   have frozen the window for that many frames or more; off it, the window keeps drawing.

mod common;

use std::path::Path;

use cim_keys::domain::OrgId;
use cim_keys::gui::jobs::events::Request as EventsRequest;
use cim_keys::gui::jobs::vault::{OpenRequest, open};
use cim_keys::gui::screen::{events, organization};
use cim_keys::gui::{Effect, SecretText, Session, graph, theme};
use common::{Mode, black_box, build_vault, fmt_secs, interleave, report_labelled, temp_dir, time};
use iced::{Element, Font, Pixels, Size, Vector};
use iced_test::core::renderer::{Headless, Style};
use iced_test::core::{Color, mouse};
use iced_test::runtime::{UserInterface, user_interface};

/// The application's window size.
const WINDOW: Size = Size::new(1200.0, 800.0);

/// The passphrase of [`common::build_vault`]'s vaults, as the vault screen hands it over.
fn secret() -> SecretText {
    SecretText::new(common::passphrase().expose_secret().to_owned())
}

/// The software renderer, as `ICED_TEST_BACKEND=tiny-skia` selects it for the GUI tests.
fn renderer() -> iced::Renderer {
    iced_test::futures::futures::executor::block_on(<iced::Renderer as Headless>::new(
        Font::DEFAULT,
        Pixels(16.0),
        Some("tiny-skia"),
    ))
    .expect("the tiny-skia renderer starts")
}

/// One frame of the UI thread: lays `element` out in the window and draws it; with
/// `rasterize`, also renders its pixels (what tiny-skia does when it presents the frame).
fn frame<M>(renderer: &mut iced::Renderer, element: Element<'_, M>, rasterize: bool) {
    let light = theme::light();
    let palette = light.palette();
    let mut ui = UserInterface::build(element, WINDOW, user_interface::Cache::default(), renderer);
    ui.draw(renderer, &light, &Style { text_color: palette.text }, mouse::Cursor::Unavailable);
    black_box(ui.into_cache());
    if rasterize {
        let size = iced::Size::new(WINDOW.width as u32, WINDOW.height as u32);
        black_box(renderer.screenshot(size, 1.0, Color { a: 1.0, ..palette.background }));
    }
}

/// Runs the Organization screen's jobs until it asks for nothing more, as the root does.
fn drive_organization(session: &Session, state: &mut organization::State, action: organization::Action) {
    let mut next = Some(action);
    while let Some(action) = next.take() {
        if let Effect::Run(job) = action {
            next = Some(state.update(organization::Message::Done(session.run(job))));
        }
    }
}

/// The Organization screen of `org` (of the only organization if none), loaded.
fn organization_screen(session: &Session, org: Option<OrgId>) -> organization::State {
    let (mut state, action) = organization::State::new(org);
    drive_organization(session, &mut state, action);
    state
}

/// Checks (untimed) that the screen shows what it should: the organization and `pager` (the
/// pager's text, or none when every person fits on one page).
fn check_organization(state: &organization::State, pager: Option<&str>) {
    assert!(state.org().is_some(), "the screen shows an organization");
    let mut ui = iced_test::Simulator::with_size(iced_test::core::Settings::default(), WINDOW, state.view());
    assert!(ui.find("Bench Org").is_ok(), "the organization is shown");
    if let Some(pager) = pager {
        assert!(ui.find(pager).is_ok(), "the pager shows {pager}");
    }
}

fn people_pager(people: usize) -> Option<String> {
    (people > organization::PAGE).then(|| format!("1–{} of {people}", organization::PAGE))
}

fn first_view(mode: Mode) -> common::Verdict {
    let (small, large) = mode.pick((1_000, 100_000), (20, 200));
    let rounds = mode.pick(15, 3);
    let opens = mode.pick(5, 1);
    let dir = temp_dir();
    println!("gui first view: vaults in {}", dir.path().display());
    let (small_dir, large_dir) = (dir.path().join("small"), dir.path().join("large"));
    drop(build_vault(&small_dir, small));
    drop(build_vault(&large_dir, large));
    // What unlocking does in the application, then the first screen and its first frame. The
    // sessions are closed after the timing (the application keeps its session open).
    let open_and_show = |dir: &Path, renderer: &mut iced::Renderer| {
        let mut sessions = Vec::with_capacity(opens);
        let (elapsed, ()) = time(|| {
            for _ in 0..opens {
                let session = open(dir, OpenRequest::Unlock(secret())).expect("the vault unlocks");
                let state = organization_screen(&session, None);
                frame(renderer, state.view(), false);
                sessions.push((session, state));
            }
        });
        drop(sessions);
        elapsed.as_secs_f64() / opens as f64
    };
    for (dir, events) in [(&small_dir, small), (&large_dir, large)] {
        let session = open(dir, OpenRequest::Unlock(secret())).expect("the vault unlocks");
        check_organization(&organization_screen(&session, None), people_pager(events - 11).as_deref());
    }
    let (mut large_renderer, mut small_renderer) = (renderer(), renderer());
    let samples = interleave(
        rounds,
        || open_and_show(&large_dir, &mut large_renderer),
        || open_and_show(&small_dir, &mut small_renderer),
    );
    report_labelled(
        mode,
        "gui first view (unlock + organization screen + first frame)",
        "open",
        &samples,
        0.5,
        &format!("{large} events"),
        &format!("{small} events"),
        "small/large",
    )
}

fn organization_view(mode: Mode) -> common::Verdict {
    let (small, large) = mode.pick((100, 10_000), (5, 120));
    let rounds = mode.pick(21, 3);
    let builds = mode.pick(10, 1);
    let dir = temp_dir();
    println!("gui organization view: vaults in {}", dir.path().display());
    let session = |people: usize, name: &str| {
        let vault = build_vault(&dir.path().join(name), people + 11);
        let org: OrgId = vault.organizations().expect("organizations")[0].id.parse().expect("an organization id");
        let session = Session {
            vault: std::sync::Arc::new(std::sync::Mutex::new(vault)),
            passphrase: std::sync::Arc::new(common::passphrase()),
        };
        check_organization(&organization_screen(&session, Some(org)), people_pager(people).as_deref());
        (session, org)
    };
    let (small_session, small_org) = session(small, "small");
    let (large_session, large_org) = session(large, "large");
    let build = |session: &Session, org: OrgId, renderer: &mut iced::Renderer| {
        let mut states = Vec::with_capacity(builds);
        let (elapsed, ()) = time(|| {
            for _ in 0..builds {
                let state = organization_screen(session, Some(org));
                frame(renderer, state.view(), false);
                states.push(state);
            }
        });
        drop(states);
        elapsed.as_secs_f64() / builds as f64
    };
    let (mut large_renderer, mut small_renderer) = (renderer(), renderer());
    let samples = interleave(
        rounds,
        || build(&large_session, large_org, &mut large_renderer),
        || build(&small_session, small_org, &mut small_renderer),
    );
    report_labelled(
        mode,
        "gui organization view (load job + first frame)",
        "view",
        &samples,
        0.33,
        &format!("{large} people"),
        &format!("{small} people"),
        "small/large",
    )
}

/// Runs the Events screen's jobs for one action, as the root does.
fn drive_events(session: &Session, state: &mut events::State, action: events::Action) {
    if let Effect::Run(job) = action {
        let reply = session.run(job);
        black_box(state.update(events::Message::Done(reply)));
    }
}

fn graph_frame(mode: Mode) -> common::Verdict {
    let nodes = mode.pick(1_000, 100);
    let rounds = mode.pick(21, 3);
    let frames = mode.pick(10, 1);
    let scale_rounds = mode.pick(rounds, 1);
    let dir = temp_dir();
    println!("gui graph frame: vault in {}", dir.path().display());
    // An organization, 10 units and the rest people: one graph node per domain event.
    let vault = build_vault(&dir.path().join("graph"), nodes);
    let org: OrgId = vault.organizations().expect("organizations")[0].id.parse().expect("an organization id");
    let session = Session {
        vault: std::sync::Arc::new(std::sync::Mutex::new(vault)),
        passphrase: std::sync::Arc::new(common::passphrase()),
    };
    let (mut state, action) = events::State::new(Some(org));
    drive_events(&session, &mut state, action);
    let action = state.update(events::Message::Show(events::Tab::Graph));
    drive_events(&session, &mut state, action);
    let model = state.graph().expect("the graph is loaded").model();
    assert_eq!(model.nodes.len(), nodes, "the graph has one node per domain event");
    println!("    {} nodes, {} edges", model.nodes.len(), model.edges.len());

    // The UI thread: a pan (which clears the canvas cache, as dragging does), then the frame.
    let mut renderer = renderer();
    let mut step = 1.0;
    let mut ui_frame = |state: &mut events::State, pan: bool, rasterize: bool| {
        let (elapsed, ()) = time(|| {
            for _ in 0..frames {
                if pan {
                    step = -step;
                    black_box(state.update(events::Message::Graph(graph::Message::Pan(Vector::new(step, 0.0)))));
                }
                frame(&mut renderer, state.view(), rasterize);
            }
        });
        elapsed.as_secs_f64() / frames as f64
    };
    // Off the UI thread: the job the screen asks for (read the graph, lay it out).
    let job = || {
        let (elapsed, reply) = time(|| session.run(EventsRequest::Graph { org: Some(org) }));
        black_box(reply.expect("the graph job succeeds"));
        elapsed.as_secs_f64()
    };
    let mut ui_state = state;
    let samples = interleave(rounds, || ui_frame(&mut ui_state, true, true), job);
    let verdict = report_labelled(
        mode,
        &format!("gui graph frame ({nodes} nodes)"),
        "run",
        &samples,
        5.0,
        "UI frame",
        "layout job (off the UI thread)",
        "job/frame",
    );

    // For scale: the same frame without rasterizing it (what is left on the UI thread when a GPU
    // renders), a frame with the canvas cache warm (no pan), and the layout alone.
    let mut median_of = |pan: bool, rasterize: bool| {
        common::median(&(0..scale_rounds).map(|_| ui_frame(&mut ui_state, pan, rasterize)).collect::<Vec<_>>())
    };
    let unrasterized = median_of(true, false);
    let warm = median_of(false, true);
    let positions: Vec<(usize, usize)> = model_edges(&ui_state);
    let layout = common::median(
        &(0..scale_rounds.min(5))
            .map(|_| time(|| black_box(graph::layout(nodes, &positions))).0.as_secs_f64())
            .collect::<Vec<_>>(),
    );
    println!(
        "    for scale: UI frame without rasterizing {}; with the canvas cache warm {}; graph::layout alone {}",
        fmt_secs(unrasterized),
        fmt_secs(warm),
        fmt_secs(layout)
    );
    verdict
}

/// The graph's edges as pairs of node indices (what `graph::layout` takes).
fn model_edges(state: &events::State) -> Vec<(usize, usize)> {
    let model = state.graph().expect("the graph is loaded").model();
    model.edges.iter().map(|e| (e.source, e.target)).collect()
}

fn main() {
    let mode = Mode::from_args();
    let verdicts = [first_view(mode), organization_view(mode), graph_frame(mode)];
    common::finish(mode, &verdicts);
}

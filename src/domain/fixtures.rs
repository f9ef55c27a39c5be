//! Deterministic histories for tests, benchmarks, golden files and demos.
//!
//! [`HistoryBuilder`] runs commands through `decide`/`evolve` with ids and times drawn from a
//! counter instead of a clock or an RNG, so the same calls always give the same events (and
//! therefore the same CIDs). [`golden_history`] is the fixed history whose CIDs are pinned in
//! `docs/formats/graph-events.md`.

use uuid::Uuid;

use super::*;

/// A UUIDv7-shaped id from a counter: fixed time prefix, version 7, variant 10.
pub fn fixed_uuid(n: u64) -> Uuid {
    Uuid::from_u128(0x0192_f0c1_7d3e_7000_8000_0000_0000_0000 | u128::from(n))
}

/// Builds a valid history command by command.
#[derive(Debug, Clone)]
pub struct HistoryBuilder {
    state: State,
    events: Vec<EventEnvelope>,
    next_id: u64,
    now_micros: i64,
    device: DeviceId,
}

impl Default for HistoryBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl HistoryBuilder {
    /// An empty history on the fixed device, starting 2026-11-22T18:00:00Z.
    pub fn new() -> Self {
        Self {
            state: State::default(),
            events: Vec::new(),
            next_id: 0x1_0000,
            now_micros: 1_795_370_400_000_000,
            device: DeviceId::from_uuid(fixed_uuid(0xde71ce)),
        }
    }

    /// A fresh id.
    pub fn id(&mut self) -> Uuid {
        self.next_id += 1;
        fixed_uuid(self.next_id)
    }

    /// Runs a command; on success its events join the history (one second after the last).
    pub fn run(&mut self, command: &Command) -> Result<&[EventEnvelope], DomainError> {
        let decided = decide(&self.state, command).map_err(|r| match r {
            Refusal::Rejected(e) => e,
            Refusal::View(never) => match never {},
        })?;
        self.now_micros += 1_000_000;
        let ctx = Ctx {
            now: Timestamp::from_micros(self.now_micros).expect("fixture times are in range"),
            device: self.device,
            correlation: CorrelationId::from_uuid(self.id()),
            command: CommandId::from_uuid(self.id()),
        };
        let first = self.events.len();
        let mut ids = Vec::with_capacity(decided.len());
        for _ in 0..decided.len() {
            ids.push(EventId::from_uuid(self.id()));
        }
        let mut ids = ids.into_iter();
        let sealed = seal(decided, &ctx, || ids.next().unwrap_or(EventId::from_uuid(Uuid::nil())));
        for envelope in &sealed {
            self.state.evolve(envelope);
        }
        self.events.extend(sealed);
        Ok(&self.events[first..])
    }

    /// The state so far.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The history so far.
    pub fn events(&self) -> &[EventEnvelope] {
        &self.events
    }

    /// The history, consumed.
    pub fn into_events(self) -> Vec<EventEnvelope> {
        self.events
    }
}

/// The golden history: one organization with a nested unit, a person in it, a role defined
/// and assigned, an identity key generated and revoked — one event of every type. Its CIDs are
/// pinned in `docs/formats/graph-events.md`. The key is the Ed25519 key of the seed
/// `[0x42; 32]` (public material only: the domain never sees a seed).
pub fn golden_history() -> Vec<EventEnvelope> {
    let mut b = HistoryBuilder::new();
    let org = OrgId::from_uuid(b.id());
    let eng = UnitId::from_uuid(b.id());
    let ops = UnitId::from_uuid(b.id());
    let ann = PersonId::from_uuid(b.id());
    let officer = RoleId::from_uuid(b.id());
    let commands = [
        Command::CreateOrganization { id: org, name: "Acme Corp".into(), domain: Some("acme.example".into()) },
        Command::CreateUnit { id: eng, org, parent: None, name: "Engineering".into() },
        Command::CreateUnit { id: ops, org, parent: Some(eng), name: "Operations".into() },
        Command::AddPerson {
            id: ann,
            org,
            name: "Ann Example".into(),
            email: "ann@acme.example".into(),
            units: vec![ops],
        },
        Command::DefineRole { id: officer, org, name: "Security Officer".into() },
        Command::AssignRole { role: officer, person: ann, expected_version: Some(1) },
    ];
    for command in &commands {
        // The golden commands are valid by construction; a failure would show as a changed CID.
        let _ = b.run(command);
    }
    // Drawn after the first six ran, so that their ids (and CIDs) stay what they were.
    let key = KeyId::from_uuid(b.id());
    let commands = [
        Command::GenerateKey {
            id: key,
            owner: ann,
            algorithm: "ed25519".into(),
            public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICFS+NGbeR0kRTJC4V8uq2y3z/p7al7TAJeWDgaYgdsS".into(),
            fingerprint: "SHA256:ZsrOVCtcb1bouzun0GIHz5vL5oCjVhVIQ3jfIBIgZ8g".into(),
        },
        Command::RevokeKey { key, reason: "Rotated after the ceremony".into() },
    ];
    for command in &commands {
        // The golden commands are valid by construction; a failure would show as a changed CID.
        let _ = b.run(command);
    }
    b.into_events()
}

/// A synthetic organization with `people` people spread over a few units, for benchmarks.
pub fn large_history(people: usize) -> Vec<EventEnvelope> {
    let mut b = HistoryBuilder::new();
    let org = OrgId::from_uuid(b.id());
    let _ = b.run(&Command::CreateOrganization { id: org, name: "Bench Org".into(), domain: None });
    let mut units = Vec::new();
    for i in 0..10 {
        let id = UnitId::from_uuid(b.id());
        let _ = b.run(&Command::CreateUnit { id, org, parent: None, name: format!("Unit {i}") });
        units.push(id);
    }
    for i in 0..people {
        let id = PersonId::from_uuid(b.id());
        let unit = units[i % units.len()];
        let _ = b.run(&Command::AddPerson {
            id,
            org,
            name: format!("Person {i}"),
            email: format!("person{i}@bench.example"),
            units: vec![unit],
        });
    }
    b.into_events()
}

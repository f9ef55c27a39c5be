//! Given/when/then for `decide`: given the commands that already ran, when this command
//! arrives, then these events (or this refusal).

use uuid::Uuid;

use super::*;

/// A test scenario over the in-memory state.
pub struct Scenario {
    state: State,
    next: u128,
}

impl Scenario {
    /// Starts from the commands that already succeeded.
    pub fn given(commands: &[Command]) -> Self {
        let mut scenario = Self { state: State::default(), next: 1 };
        for command in commands {
            let decided =
                decide(&scenario.state, command).unwrap_or_else(|e| panic!("given {command:?} failed: {e:?}"));
            for envelope in scenario.seal(decided) {
                scenario.state.evolve(&envelope);
            }
        }
        scenario
    }

    fn seal(&mut self, decided: Vec<Decided>) -> Vec<EventEnvelope> {
        let ctx = Ctx {
            now: Timestamp::from_micros(1_800_000_000_000_000).expect("valid time"),
            device: DeviceId::from_uuid(Uuid::from_u128(0xd)),
            correlation: CorrelationId::from_uuid(Uuid::from_u128(0xc)),
            command: CommandId::from_uuid(Uuid::from_u128(0xa)),
        };
        let next = &mut self.next;
        seal(decided, &ctx, || {
            *next += 1;
            EventId::from_uuid(Uuid::from_u128(0xe000 + *next))
        })
    }

    /// Runs the command under test.
    pub fn when(self, command: Command) -> Outcome {
        Outcome {
            result: decide(&self.state, &command).map_err(|r| match r {
                Refusal::Rejected(e) => e,
                Refusal::View(never) => match never {},
            }),
        }
    }
}

/// What the command under test did.
pub struct Outcome {
    result: Result<Vec<Decided>, DomainError>,
}

impl Outcome {
    /// Then exactly these events, at these versions.
    pub fn then(self, expected: &[(DomainEvent, u64)]) {
        let decided = self.result.unwrap_or_else(|e| panic!("expected events, got refusal: {e}"));
        let got: Vec<(DomainEvent, u64)> = decided.into_iter().map(|d| (d.event, d.version)).collect();
        assert_eq!(got, expected);
    }

    /// Then this refusal.
    pub fn then_rejected(self, expected: DomainError) {
        match self.result {
            Ok(events) => panic!("expected {expected:?}, got events {events:?}"),
            Err(err) => assert_eq!(err, expected),
        }
    }

    /// Then a refusal matching the predicate.
    pub fn then_rejected_with(self, check: impl FnOnce(&DomainError) -> bool) {
        match self.result {
            Ok(events) => panic!("expected a refusal, got events {events:?}"),
            Err(err) => assert!(check(&err), "unexpected refusal: {err:?}"),
        }
    }
}

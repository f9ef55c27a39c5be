//! Versioned migrations.
//!
//! The schema version is SQLite's `user_version`; migration *n* (1-based) moves the database
//! from version *n − 1* to *n*. Migrations are append-only: once shipped, an entry is never
//! edited (a test pins the text of each by hash). A database whose version is higher than the
//! number of migrations here was written by a newer cim-keys and is refused, untouched.
//!
//! We keep this small runner instead of `rusqlite_migration` because no release of that crate
//! resolves against rusqlite 0.41, the version this project is pinned to.

/// `PRAGMA application_id` of a cim-keys vault: ASCII "CIMK".
pub const APPLICATION_ID: i64 = 0x4349_4d4b;

/// The migrations, oldest first.
pub const MIGRATIONS: &[&str] = &[
    // 1: the event log, graph chain, outbox and read models.
    r#"
CREATE TABLE vault (
    singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
    vault_id       TEXT    NOT NULL,
    device_id      TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    head_cid       BLOB,
    domain_events  INTEGER NOT NULL DEFAULT 0,
    graph_events   INTEGER NOT NULL DEFAULT 0,
    pending        INTEGER NOT NULL DEFAULT 0,
    uploaded       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE domain_events (
    seq             INTEGER PRIMARY KEY,
    event_id        TEXT    NOT NULL UNIQUE,
    cid             BLOB    NOT NULL UNIQUE,
    event_type      TEXT    NOT NULL,
    aggregate_type  TEXT    NOT NULL,
    aggregate_id    TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    correlation_id  TEXT    NOT NULL,
    causation_id    TEXT    NOT NULL,
    occurred_at     TEXT    NOT NULL,
    bytes           BLOB    NOT NULL,
    UNIQUE (aggregate_id, version)
);

CREATE TABLE graph_events (
    seq         INTEGER PRIMARY KEY,
    event_id    TEXT    NOT NULL UNIQUE,
    cid         BLOB    NOT NULL UNIQUE,
    prev_cid    BLOB,
    domain_seq  INTEGER NOT NULL REFERENCES domain_events (seq),
    event_type  TEXT    NOT NULL,
    context_id  TEXT    NOT NULL,
    bytes       BLOB    NOT NULL
);
CREATE INDEX graph_events_domain ON graph_events (domain_seq);

CREATE TABLE outbox (
    graph_seq    INTEGER PRIMARY KEY REFERENCES graph_events (seq),
    state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'uploaded')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    uploaded_at  TEXT
);
CREATE INDEX outbox_pending ON outbox (graph_seq) WHERE state = 'pending';

CREATE TABLE aggregates (
    id       TEXT    PRIMARY KEY,
    kind     TEXT    NOT NULL,
    org_id   TEXT    NOT NULL,
    version  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY REFERENCES aggregates (id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    domain      TEXT,
    created_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE units (
    id          TEXT PRIMARY KEY REFERENCES aggregates (id),
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    parent_id   TEXT REFERENCES units (id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    created_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX units_name ON units (org_id, ifnull(parent_id, ''), name_key);

CREATE TABLE people (
    id          TEXT PRIMARY KEY REFERENCES aggregates (id),
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    email_key   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (org_id, email_key)
) WITHOUT ROWID;

CREATE TABLE person_units (
    person_id  TEXT NOT NULL REFERENCES people (id),
    unit_id    TEXT NOT NULL REFERENCES units (id),
    PRIMARY KEY (person_id, unit_id)
) WITHOUT ROWID;
CREATE INDEX person_units_unit ON person_units (unit_id);

CREATE TABLE roles (
    id          TEXT PRIMARY KEY REFERENCES aggregates (id),
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (org_id, name_key)
) WITHOUT ROWID;

CREATE TABLE role_assignments (
    person_id  TEXT NOT NULL REFERENCES people (id),
    role_id    TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (person_id, role_id)
) WITHOUT ROWID;
CREATE INDEX role_assignments_role ON role_assignments (role_id);
"#,
    // 2: the keystore (the wrapped master key with its KDF parameters, and sealed secrets), and
    //    the keys read model.
    r#"
CREATE TABLE keystore (
    singleton          INTEGER PRIMARY KEY CHECK (singleton = 1),
    format             INTEGER NOT NULL,
    kdf                TEXT    NOT NULL CHECK (kdf = 'argon2id'),
    kdf_memory_kib     INTEGER NOT NULL,
    kdf_iterations     INTEGER NOT NULL,
    kdf_parallelism    INTEGER NOT NULL,
    salt               BLOB    NOT NULL,
    master_nonce       BLOB    NOT NULL,
    master_ciphertext  BLOB    NOT NULL,
    updated_at         TEXT    NOT NULL
);

CREATE TABLE secrets (
    id          TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    nonce       BLOB    NOT NULL,
    ciphertext  BLOB    NOT NULL,
    created_at  TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE keys (
    id           TEXT PRIMARY KEY REFERENCES aggregates (id),
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    owner_id     TEXT NOT NULL REFERENCES people (id),
    algorithm    TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    fingerprint  TEXT NOT NULL UNIQUE,
    revoked      TEXT,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
) WITHOUT ROWID;
CREATE INDEX keys_owner ON keys (owner_id);

CREATE TABLE cas (
    id              TEXT PRIMARY KEY REFERENCES aggregates (id),
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    level           TEXT NOT NULL CHECK (level IN ('root', 'intermediate')),
    issuer_id       TEXT REFERENCES cas (id),
    subject         TEXT NOT NULL,
    common_name     TEXT NOT NULL,
    organization    TEXT,
    serial          TEXT NOT NULL,
    not_before      TEXT NOT NULL,
    not_after       TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    certificate     TEXT NOT NULL,
    created_at      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX cas_org ON cas (org_id);

CREATE TABLE certificates (
    id              TEXT PRIMARY KEY REFERENCES aggregates (id),
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    ca_id           TEXT NOT NULL REFERENCES cas (id),
    profile         TEXT NOT NULL CHECK (profile IN ('server', 'client')),
    names           TEXT NOT NULL,
    subject         TEXT NOT NULL,
    common_name     TEXT NOT NULL,
    organization    TEXT,
    serial          TEXT NOT NULL,
    not_before      TEXT NOT NULL,
    not_after       TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    certificate     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (ca_id, serial)
) WITHOUT ROWID;
CREATE INDEX certificates_org ON certificates (org_id);

-- Public artifacts (certificates, later JWTs): blocks addressed by their CIDs.
CREATE TABLE artifacts (
    cid         BLOB PRIMARY KEY,
    media_type  TEXT NOT NULL,
    bytes       BLOB NOT NULL
) WITHOUT ROWID;
"#,
    // 3: the NATS read models: operators, accounts, users and the signing keys of operators
    //    and accounts (current and retired; a rotation retires a key and puts its successor in
    //    its position).
    r#"
CREATE TABLE nats_operators (
    id              TEXT PRIMARY KEY REFERENCES aggregates (id),
    org_id          TEXT NOT NULL UNIQUE REFERENCES organizations (id),
    name            TEXT NOT NULL,
    public_key      TEXT NOT NULL UNIQUE,
    system_account  TEXT NOT NULL UNIQUE,
    jwt             TEXT NOT NULL,
    created_at      TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE nats_accounts (
    id           TEXT    PRIMARY KEY REFERENCES aggregates (id),
    org_id       TEXT    NOT NULL REFERENCES organizations (id),
    operator_id  TEXT    NOT NULL REFERENCES nats_operators (id),
    unit_id      TEXT    REFERENCES units (id),
    system       INTEGER NOT NULL CHECK (system IN (0, 1)),
    name         TEXT    NOT NULL,
    public_key   TEXT    NOT NULL UNIQUE,
    jetstream    INTEGER NOT NULL CHECK (jetstream IN (0, 1)),
    jwt          TEXT    NOT NULL,
    created_at   TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX nats_accounts_org ON nats_accounts (org_id);
-- One account per unit and one organization account (no unit) per organization…
CREATE UNIQUE INDEX nats_accounts_unit ON nats_accounts (org_id, ifnull(unit_id, '')) WHERE system = 0;
-- …and one system account.
CREATE UNIQUE INDEX nats_accounts_system ON nats_accounts (org_id) WHERE system = 1;

CREATE TABLE nats_users (
    id          TEXT    PRIMARY KEY REFERENCES aggregates (id),
    org_id      TEXT    NOT NULL REFERENCES organizations (id),
    account_id  TEXT    NOT NULL REFERENCES nats_accounts (id),
    person_id   TEXT    NOT NULL UNIQUE REFERENCES people (id),
    name        TEXT    NOT NULL,
    public_key  TEXT    NOT NULL UNIQUE,
    signer      TEXT    NOT NULL,
    role        TEXT,
    jwt         TEXT    NOT NULL,
    revoked_at  INTEGER,
    created_at  TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX nats_users_org ON nats_users (org_id, name);
CREATE INDEX nats_users_signer ON nats_users (signer);

CREATE TABLE nats_signing_keys (
    public_key  TEXT    PRIMARY KEY,
    org_id      TEXT    NOT NULL REFERENCES organizations (id),
    owner_kind  TEXT    NOT NULL CHECK (owner_kind IN ('operator', 'account')),
    owner_id    TEXT    NOT NULL REFERENCES aggregates (id),
    role        TEXT,
    position    INTEGER NOT NULL,
    retired     INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1))
) WITHOUT ROWID;
CREATE INDEX nats_signing_keys_owner ON nats_signing_keys (owner_id, position);
-- A position of an owner holds one current key (its retired predecessors keep theirs).
CREATE UNIQUE INDEX nats_signing_keys_current ON nats_signing_keys (owner_id, position) WHERE retired = 0;
"#,
    // 4: what a view of a large organization needs without reading all of it: its people in
    //    name order (so a page of them is read straight from a covering index), and its
    //    counts of units, people and roles, kept by the read models in the transaction that
    //    adds a row (so listing organizations with their counts counts no rows). `IF NOT
    //    EXISTS` and `INSERT OR REPLACE`: the counts are recomputed, not added to, if this runs
    //    again on a file rolled back to an older version.
    r#"
CREATE INDEX IF NOT EXISTS people_org_name ON people (org_id, name, id, email);

CREATE TABLE IF NOT EXISTS org_counts (
    org_id  TEXT    PRIMARY KEY REFERENCES organizations (id),
    units   INTEGER NOT NULL DEFAULT 0,
    people  INTEGER NOT NULL DEFAULT 0,
    roles   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT OR REPLACE INTO org_counts (org_id, units, people, roles)
SELECT o.id,
       (SELECT count(*) FROM units u WHERE u.org_id = o.id),
       (SELECT count(*) FROM people p WHERE p.org_id = o.id),
       (SELECT count(*) FROM roles r WHERE r.org_id = o.id)
FROM organizations o;
"#,
    // 5: the SD card. The device key (its public half here, its seed sealed in `secrets`)
    //    signs export manifests; `exports` remembers what each export held (so `--since-last`
    //    knows where to start) and `imports` what each import added.
    r#"
ALTER TABLE vault ADD COLUMN device_key BLOB;

CREATE TABLE exports (
    seq           INTEGER PRIMARY KEY,
    created_at    TEXT    NOT NULL,
    file          TEXT    NOT NULL,
    manifest_cid  BLOB    NOT NULL,
    head_cid      BLOB    NOT NULL,
    graph_first   INTEGER NOT NULL,
    graph_last    INTEGER NOT NULL,
    domain_first  INTEGER NOT NULL,
    domain_last   INTEGER NOT NULL,
    artifacts     INTEGER NOT NULL,
    encrypted_to  TEXT    NOT NULL,
    sha256        TEXT    NOT NULL
);

CREATE TABLE imports (
    seq           INTEGER PRIMARY KEY,
    imported_at   TEXT    NOT NULL,
    manifest_cid  BLOB    NOT NULL,
    vault_id      TEXT    NOT NULL,
    device_id     TEXT    NOT NULL,
    signer        TEXT    NOT NULL,
    head_cid      BLOB    NOT NULL,
    graph_first   INTEGER NOT NULL,
    graph_last    INTEGER NOT NULL,
    domain_added  INTEGER NOT NULL,
    graph_added   INTEGER NOT NULL,
    artifacts     INTEGER NOT NULL
);
"#,
];

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// Shipped migrations never change: their hashes are pinned here.
    #[test]
    fn shipped_migrations_are_never_edited() {
        let pinned = [
            "0330531c852b72f022e6d6377a0a5aee15c8f5f03fa59bc5c9ef6d4fa38e48e6",
            "78a478f1f86ed1c9e1d0574592193a7fc9a735b987e672bca6829d8a8dd0975c",
            "84626d91161e94780e55ec7794f583e98bd9168c3546e58479f688e37663fd95",
            "3a07a646d219ab6a1b9df9998e740437656a069c7e3601a12c4ccf5d59465c3c",
            "a519be6b5dcdd827ce72ac930abbf608c75607d0e2bab174606c2fcfddd57b9c",
        ];
        let actual: Vec<String> =
            super::MIGRATIONS.iter().map(|m| format!("{:x}", Sha256::digest(m.as_bytes()))).collect();
        assert_eq!(actual.len(), pinned.len(), "a new migration needs its hash pinned here");
        for (a, p) in actual.iter().zip(pinned) {
            assert_eq!(a, p, "a shipped migration was edited; add a new one instead");
        }
    }
}

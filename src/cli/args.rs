//! The argument grammar (clap derive) and the people CSV reader.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::app::AppError;

/// cim-keys: offline key management for an organization, with a content-addressed history.
#[derive(Debug, Parser)]
#[command(name = "cim-keys", version, about, long_about = None)]
pub struct Cli {
    /// The vault's data directory [default: the platform data directory + /cim-keys]
    #[arg(long, global = true, env = "CIM_KEYS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print one machine-readable JSON document on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Read the passphrase from this file (else CIM_KEYS_PASSPHRASE, else a prompt on the
    /// terminal); never give it on the command line
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// What to do
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Start the desktop application (also what `cim-keys` without a command does)
    #[cfg(feature = "gui")]
    Gui {
        /// Lock the vault after this many seconds without input [default: 300]
        #[arg(long, env = "CIM_KEYS_IDLE_LOCK", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(5..=86_400))]
        idle_lock: Option<u64>,
    },
    /// Create the vault (database and keystore) in the data directory; asks for a passphrase
    Init,
    /// Change the keystore's passphrase (re-wraps the master key only)
    Passwd {
        /// Read the new passphrase from this file (else CIM_KEYS_NEW_PASSPHRASE, else a prompt)
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Organizations
    #[command(subcommand)]
    Org(OrgCmd),
    /// Organizational units
    #[command(subcommand)]
    Unit(UnitCmd),
    /// People
    #[command(subcommand)]
    Person(PersonCmd),
    /// Roles
    #[command(subcommand)]
    Role(RoleCmd),
    /// Identity keys of people
    #[command(subcommand)]
    Key(KeyCmd),
    /// The organization's X.509 CA hierarchy and certificates
    #[command(subcommand)]
    Pki(PkiCmd),
    /// The organization's NATS operator, accounts, users, creds and server configuration
    #[command(subcommand)]
    Nats(NatsCmd),
    /// List the graph events (the chain), or with --domain the domain events, with their CIDs
    Events {
        /// List domain events instead of graph events
        #[arg(long)]
        domain: bool,
        /// Only events after this sequence number
        #[arg(long, value_name = "SEQ")]
        after: Option<u64>,
        /// At most this many events
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
    /// Recompute every CID and chain link; exit 1 naming the first bad event
    Verify {
        /// Also decode every block, re-run the projection and compare columns and read models
        #[arg(long)]
        deep: bool,
    },
    /// Counts of events, pending and uploaded, and the head CID
    Status,
    /// Write the history to an encrypted bundle in DIR (age around a CAR archive, its manifest
    /// signed by this vault's device key), with the public artifacts in clear beside it; asks
    /// for the vault passphrase (the device key) and, without --recipient, a bundle passphrase
    Export {
        /// The directory to write into (an SD card, say); created if missing
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Encrypt to this age X25519 recipient (age1…; repeatable) instead of a passphrase
        #[arg(long = "recipient", value_name = "AGE_RECIPIENT")]
        recipients: Vec<String>,
        /// Only what came after the last export (everything if there was none)
        #[arg(long)]
        since_last: bool,
        /// Read the bundle passphrase from this file (else CIM_KEYS_BUNDLE_PASSPHRASE, else a
        /// prompt)
        #[arg(long, value_name = "FILE", conflicts_with = "recipients")]
        bundle_passphrase_file: Option<PathBuf>,
    },
    /// Import a bundle: decrypt, verify the signature and every CID, and add the events this
    /// vault lacks in one transaction (all or nothing; importing twice changes nothing)
    Import {
        /// The bundle file (….age)
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// An age identity file (AGE-SECRET-KEY-1…) for a bundle encrypted to recipients
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// Refuse the bundle unless its manifest is signed by this device key (SHA256:…, as
        /// `cim-keys status` prints on the exporting machine)
        #[arg(long, value_name = "FINGERPRINT")]
        expect_signer: Option<String>,
        /// Read the bundle passphrase from this file (else CIM_KEYS_BUNDLE_PASSPHRASE, else a
        /// prompt)
        #[arg(long, value_name = "FILE", conflicts_with = "identity")]
        bundle_passphrase_file: Option<PathBuf>,
    },
    /// Write the keystore's secrets (every seed but the device key) to a new file, encrypted
    /// with age to a backup passphrase or to recipients (needs the vault passphrase)
    Backup {
        /// The file to write (never an existing one)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Encrypt to this age X25519 recipient (age1…; repeatable) instead of a backup
        /// passphrase
        #[arg(long = "recipient", value_name = "AGE_RECIPIENT")]
        recipients: Vec<String>,
        /// Read the backup passphrase from this file (else CIM_KEYS_BACKUP_PASSPHRASE, else a
        /// prompt); never the vault's passphrase
        #[arg(long, value_name = "FILE", conflicts_with = "recipients")]
        backup_passphrase_file: Option<PathBuf>,
    },
    /// Restore the secrets of a backup into this vault, which must hold their keys' history
    /// (its own, or an imported bundle's); all or nothing (needs the vault passphrase)
    Restore {
        /// The backup file
        file: PathBuf,
        /// Open a backup made with --recipient with this age identity file (AGE-SECRET-KEY-1…)
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// Read the backup passphrase from this file (else CIM_KEYS_BACKUP_PASSPHRASE, else a
        /// prompt)
        #[arg(long, value_name = "FILE", conflicts_with = "identity")]
        backup_passphrase_file: Option<PathBuf>,
    },
    /// Upload everything pending to NATS: each graph event to the JetStream stream
    /// CIM_GRAPH_EVENTS, each block to the object store cim-graph-payloads; idempotent (events
    /// the server holds are not stored twice) and resumable. With --bundle, a bundle file's
    /// history instead, on a machine without a vault. Without --server, the settings come from
    /// sync.json in the data directory
    #[cfg(feature = "sync")]
    Sync {
        /// Where and how to connect
        #[command(flatten)]
        server: ServerArgs,
        /// Upload the history in this bundle file (….age) instead of the vault's; needs no vault
        #[arg(long, value_name = "FILE")]
        bundle: Option<PathBuf>,
        /// An age identity file (AGE-SECRET-KEY-1…) for a bundle encrypted to recipients
        #[arg(long, value_name = "FILE", requires = "bundle")]
        identity: Option<PathBuf>,
        /// Read the bundle passphrase from this file (else CIM_KEYS_BUNDLE_PASSPHRASE, else a
        /// prompt)
        #[arg(long, value_name = "FILE", requires = "bundle", conflicts_with = "identity")]
        bundle_passphrase_file: Option<PathBuf>,
        /// Also save these settings as sync.json in the data directory (for later runs and the GUI)
        #[arg(long)]
        save: bool,
    },
    /// Rebuild a vault in the data directory (which must hold no vault with events) from a NATS
    /// server alone: every graph event of the stream CIM_GRAPH_EVENTS and the blocks of the
    /// object store cim-graph-payloads, every CID recomputed, the chain re-derived, all applied
    /// in one transaction (all or nothing); asks for the new vault's passphrase as init does
    #[cfg(feature = "sync")]
    Replay {
        /// Where and how to connect
        #[command(flatten)]
        server: ServerArgs,
        /// Replay the history ending at this graph event (bafy…); needed when the stream holds
        /// several histories (several devices)
        #[arg(long, value_name = "CID")]
        head: Option<String>,
    },
}

/// Where and how to reach NATS (`sync`, `replay`). Given flags override sync.json's settings.
#[cfg(feature = "sync")]
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// A NATS server URL, nats://HOST:PORT or tls://HOST:PORT (repeatable: the servers of a
    /// cluster) [default: the servers in sync.json in the data directory]
    #[arg(long = "server", value_name = "URL")]
    pub servers: Vec<String>,
    /// Authenticate with this creds file (a user JWT and its seed, as `nats creds` writes)
    #[arg(long, value_name = "FILE")]
    pub creds: Option<PathBuf>,
    /// Require TLS and trust this CA certificate file (PEM) for the server's certificate
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Present this client certificate (PEM) over TLS; needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM); needs --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Replicas of the stream and the bucket when they are created: 1 to 5 [default: 3 when
    /// the server is part of a cluster, else 1]
    #[arg(long, value_name = "N")]
    pub replicas: Option<usize>,
    /// Give up connecting after this many seconds [default: 5]
    #[arg(long, value_name = "SECONDS")]
    pub connect_timeout: Option<u64>,
}

/// `org` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrgCmd {
    /// Create an organization; prints its id
    Create {
        /// Its name
        #[arg(long)]
        name: String,
        /// Its DNS domain
        #[arg(long)]
        domain: Option<String>,
    },
    /// List organizations
    List,
    /// Show an organization's units, people and roles
    Show {
        /// The organization's id
        org: String,
    },
}

/// `unit` subcommands.
#[derive(Debug, Subcommand)]
pub enum UnitCmd {
    /// Create an organizational unit; prints its id
    Create {
        /// The organization's id
        #[arg(long)]
        org: String,
        /// Its name
        #[arg(long)]
        name: String,
        /// The unit it is nested in
        #[arg(long, value_name = "UNIT")]
        parent: Option<String>,
    },
}

/// `person` subcommands.
#[derive(Debug, Subcommand)]
pub enum PersonCmd {
    /// Add a person; prints their id
    Add {
        /// The organization's id
        #[arg(long)]
        org: String,
        /// Their name
        #[arg(long)]
        name: String,
        /// Their e-mail address
        #[arg(long)]
        email: String,
        /// A unit they are a member of (repeatable)
        #[arg(long = "unit", value_name = "UNIT")]
        units: Vec<String>,
    },
    /// Add many people from a CSV file (columns: name,email[,units separated by ';']), all in
    /// one transaction: every row is added, or none
    Import {
        /// The organization's id
        #[arg(long)]
        org: String,
        /// The CSV file; a first row "name,email,units" is taken as a header
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
}

/// `role` subcommands.
#[derive(Debug, Subcommand)]
pub enum RoleCmd {
    /// Define a role; prints its id
    Define {
        /// The organization's id
        #[arg(long)]
        org: String,
        /// Its name
        #[arg(long)]
        name: String,
    },
    /// Give a person a role
    Assign {
        /// The role's id
        #[arg(long)]
        role: String,
        /// The person's id
        #[arg(long)]
        person: String,
        /// Refuse unless the person is at this version (optimistic concurrency)
        #[arg(long, value_name = "VERSION")]
        expected_version: Option<u64>,
    },
}

/// `key` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Generate an identity key for a person (needs the passphrase); prints its id and fingerprint
    Generate {
        /// The person's id
        #[arg(long, value_name = "PERSON")]
        owner: String,
        /// The algorithm
        #[arg(long, default_value = "ed25519")]
        algorithm: String,
    },
    /// List keys with their owners, fingerprints and status
    List {
        /// Only this person's keys
        #[arg(long, value_name = "PERSON")]
        owner: Option<String>,
    },
    /// Print (or write) a key's public half in OpenSSH format
    ExportPublic {
        /// The key's id
        #[arg(long)]
        key: String,
        /// Write it to this file instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Revoke a key
    Revoke {
        /// The key's id
        #[arg(long)]
        key: String,
        /// Why
        #[arg(long, default_value = "revoked by the operator")]
        reason: String,
    },
}

/// `pki` subcommands.
#[derive(Debug, Subcommand)]
pub enum PkiCmd {
    /// Create the organization's offline root CA and the intermediate CA it certifies (needs
    /// the passphrase); prints both ids
    Init {
        /// The organization's id
        #[arg(long)]
        org: String,
    },
    /// Issue a server or client certificate from the intermediate CA (needs the passphrase);
    /// prints its id and fingerprint
    Issue {
        /// The organization's id
        #[arg(long)]
        org: String,
        /// server or client
        #[arg(long, value_parser = ["server", "client"])]
        kind: String,
        /// The subject's common name
        #[arg(long)]
        name: String,
        /// A subject alternative name (repeatable): a DNS name, an IP address, or DNS:…, IP:…,
        /// email:…, URI:…
        #[arg(long = "san", value_name = "NAME")]
        sans: Vec<String>,
        /// Validity in days
        #[arg(long, default_value_t = 365)]
        days: u32,
    },
    /// List the organization's CAs and certificates
    List {
        /// The organization's id
        #[arg(long)]
        org: String,
    },
    /// Print (or write) a CA's or certificate's certificate as PEM
    Export {
        /// The CA's or certificate's id
        #[arg(long)]
        id: String,
        /// Write it to this file instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `nats` subcommands.
#[derive(Debug, Subcommand)]
pub enum NatsCmd {
    /// Create the organization's operator, system account, organization account, one account
    /// per unit and one user per person (needs the passphrase); refused if already done —
    /// units and people added later get theirs automatically
    Bootstrap {
        /// The organization's id
        #[arg(long)]
        org: String,
    },
    /// List the organization's operator, accounts (with signing keys) and users
    List {
        /// The organization's id
        #[arg(long)]
        org: String,
    },
    /// Print the decoded claims of an operator's, account's or user's current JWT (an
    /// organization's id names its operator)
    Show {
        /// The operator's, account's, user's or organization's id
        #[arg(long)]
        id: String,
    },
    /// Write a user's creds file (JWT and seed; mode 0600; needs the passphrase)
    Creds {
        /// The user's id
        #[arg(long, required_unless_present = "person", conflicts_with = "person")]
        user: Option<String>,
        /// Or the id of the person whose user it is
        #[arg(long)]
        person: Option<String>,
        /// The file to write
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write the nats-server configuration: operator, system account, memory resolver with
    /// every account preloaded, JetStream
    ServerConfig {
        /// The organization's id
        #[arg(long)]
        org: String,
        /// The file to write
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// JetStream's store directory on the server (relative paths are relative to the
        /// server's working directory)
        #[arg(long, value_name = "DIR", default_value = "jetstream")]
        jetstream_dir: String,
        /// Leave JetStream out of the configuration
        #[arg(long, conflicts_with = "jetstream_dir")]
        no_jetstream: bool,
    },
    /// Revoke a user: its account JWT is re-issued with the revocation (needs the passphrase)
    RevokeUser {
        /// The user's id
        #[arg(long)]
        user: String,
    },
    /// Connect to a NATS server with a creds file: checks that the server accepts the user,
    /// that a published message comes back, and reads the account's JetStream limits
    #[cfg(feature = "sync")]
    TestConnection {
        /// The server's URL (nats://host:port)
        #[arg(long)]
        server: String,
        /// The creds file
        #[arg(long, value_name = "FILE")]
        creds: PathBuf,
        /// Seconds to wait for each step
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
    /// Replace a signing key by a new one and re-issue every JWT it signed; prints what was
    /// re-issued (needs the passphrase)
    RotateSigningKey {
        /// The signing key's public key (O… or A…)
        #[arg(long)]
        key: String,
    },
}

/// One row of a people CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvPerson {
    /// Line number in the file (1-based).
    pub line: usize,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Unit ids.
    pub units: Vec<String>,
}

/// Reads a people CSV file.
pub fn read_people_csv(path: &Path) -> Result<Vec<CsvPerson>, AppError> {
    let file =
        std::fs::File::open(path).map_err(|e| AppError::Invalid(format!("cannot read {}: {e}", path.display())))?;
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::None).from_reader(file);
    let mut people = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| AppError::Invalid(format!("{} is not valid CSV: {e}", path.display())))?;
        let line = record.position().map_or(index + 1, |p| p.line() as usize);
        let field = |i: usize| record.get(i).unwrap_or("").to_owned();
        if index == 0 && field(0).trim().eq_ignore_ascii_case("name") && field(1).trim().eq_ignore_ascii_case("email") {
            continue;
        }
        if record.len() < 2 || record.len() > 3 {
            return Err(AppError::Invalid(format!(
                "line {line}: expected 2 or 3 columns (name,email[,units]), found {}",
                record.len()
            )));
        }
        let units = field(2).split(';').map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned).collect();
        people.push(CsvPerson { line, name: field(0), email: field(1), units });
    }
    Ok(people)
}

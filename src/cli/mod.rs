//! The command-line interface (BRIEF §6): argument parsing and printing, nothing else.
//!
//! Every operation goes through [`crate::app::Vault`]. Output is human-readable text, or with
//! `--json` exactly one JSON document on stdout. Errors are one line on stderr. Exit codes: 0
//! success, 1 the operation failed (environment, vault, failed verification), 2 invalid input
//! or usage.

mod args;
mod backup;
mod bundle;
mod output;
mod passphrase;
#[cfg(feature = "sync")]
mod replay;
#[cfg(feature = "sync")]
mod sync;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::{Cmd, KeyCmd, NatsCmd, OrgCmd, PersonCmd, PkiCmd, RoleCmd, UnitCmd};
use output::Printer;

use crate::app::files::{PUBLIC_MODE, write_atomically};
use crate::app::{AppError, ErrorKind, Vault, new_id};
use crate::crypto::keystore::Passphrase;
use crate::domain::{Command, OrgId, PersonId, RoleId, UnitId};
use crate::store::EventQuery;

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for a failed operation.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for invalid input or usage.
pub const EXIT_USAGE: u8 = 2;

/// Parses `args` (including the program name), runs the command, and returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return ExitCode::from(usage_error(&err)),
    };
    let printer = Printer::new(cli.json);
    match dispatch(&cli, &printer) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            printer.error(&err.to_string());
            ExitCode::from(match err.kind() {
                ErrorKind::InvalidInput => EXIT_USAGE,
                ErrorKind::Failed => EXIT_FAILED,
            })
        }
    }
}

/// Prints a clap error as one line (help and version print as usual) and gives the exit code.
fn usage_error(err: &clap::Error) -> u8 {
    use clap::error::ErrorKind as K;
    match err.kind() {
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = write!(std::io::stdout(), "{}", err.render());
            EXIT_OK
        }
        _ => {
            let rendered = err.render().to_string();
            let message: Vec<&str> = rendered.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            let _ = writeln!(std::io::stderr(), "error: {message} (see `cim-keys --help`)");
            EXIT_USAGE
        }
    }
}

/// `CIM_KEYS_IDLE_LOCK` (seconds) for the GUI started without a command.
#[cfg(feature = "gui")]
fn idle_lock_from_env() -> Result<Option<u64>, AppError> {
    match std::env::var("CIM_KEYS_IDLE_LOCK") {
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if (5..=86_400).contains(&seconds) => Ok(Some(seconds)),
            _ => Err(AppError::Invalid(format!(
                "CIM_KEYS_IDLE_LOCK must be a number of seconds from 5 to 86400, not '{}'",
                crate::domain::excerpt(&text)
            ))),
        },
        Err(_) => Ok(None),
    }
}

fn data_dir(cli: &Cli) -> Result<PathBuf, AppError> {
    if let Some(dir) = &cli.data_dir {
        return Ok(dir.clone());
    }
    dirs::data_dir()
        .map(|d| d.join("cim-keys"))
        .ok_or_else(|| AppError::Invalid("no platform data directory is known here; pass --data-dir DIR".into()))
}

fn id<T: std::str::FromStr<Err = crate::domain::IdParseError>>(text: &str) -> Result<T, AppError> {
    Ok(text.parse()?)
}

/// The passphrase, read only when the commands need it (a unit or person added to an
/// organization bootstrapped for NATS gets its account or user).
fn passphrase_if_needed(
    cli: &Cli,
    out: &Printer,
    vault: &Vault,
    commands: &[Command],
) -> Result<Option<Passphrase>, AppError> {
    if vault.needs_passphrase(commands)? {
        Ok(Some(passphrase::read(&passphrase::Source::current(cli), false, out)?))
    } else {
        Ok(None)
    }
}

fn write_public(out: &Printer, path: &std::path::Path, bytes: &[u8]) -> Result<(), AppError> {
    write_atomically(path, bytes, PUBLIC_MODE)?;
    out.done(&format!("wrote {}", path.display()));
    Ok(())
}

fn dispatch(cli: &Cli, out: &Printer) -> Result<u8, AppError> {
    let dir = data_dir(cli)?;
    #[cfg(feature = "gui")]
    if let None | Some(Cmd::Gui { .. }) = cli.command {
        let configured = match &cli.command {
            Some(Cmd::Gui { idle_lock }) => *idle_lock,
            _ => idle_lock_from_env()?,
        };
        let idle = configured.map_or(crate::gui::IDLE_LOCK, std::time::Duration::from_secs);
        return match crate::gui::run(dir, idle) {
            Ok(()) => Ok(EXIT_OK),
            Err(e) => Err(AppError::Invalid(format!("the window cannot be opened: {e}"))),
        };
    }
    let Some(cmd) = &cli.command else {
        // Built without the GUI: show what the CLI can do.
        let _ = <Cli as clap::CommandFactory>::command().print_help();
        return Ok(EXIT_OK);
    };
    if let Cmd::Init = cmd {
        let passphrase = passphrase::read(&passphrase::Source::current(cli), true, out)?;
        let vault = Vault::init(&dir, &passphrase)?;
        out.init(&vault, vault.device_fingerprint()?.as_deref());
        return Ok(EXIT_OK);
    }
    #[cfg(feature = "sync")]
    if let Cmd::Nats(NatsCmd::TestConnection { server, creds, timeout }) = cmd {
        // Runs on the online machine, which may hold no vault.
        let check =
            crate::app::nats::test_connection(server, creds, std::time::Duration::from_secs((*timeout).max(1)))?;
        out.nats_connection(&check);
        return Ok(EXIT_OK);
    }
    #[cfg(feature = "sync")]
    if let Cmd::Sync { server, bundle: Some(file), identity, bundle_passphrase_file, save } = cmd {
        // Runs on the online machine, which may hold no vault.
        sync::sync_bundle(out, &dir, server, *save, file, identity.as_deref(), bundle_passphrase_file.as_deref())?;
        return Ok(EXIT_OK);
    }
    #[cfg(feature = "sync")]
    if let Cmd::Replay { server, head } = cmd {
        // Creates the vault (as `init` does) once the server's history has been read.
        replay::replay(cli, out, &dir, server, head.as_deref())?;
        return Ok(EXIT_OK);
    }
    let mut vault = Vault::open(&dir)?;
    match cmd {
        Cmd::Init => unreachable!("handled above"),
        #[cfg(feature = "gui")]
        Cmd::Gui { .. } => unreachable!("handled above"),
        Cmd::Passwd { new_passphrase_file } => {
            let old = if vault.kdf_params()?.is_some() {
                Some(passphrase::read(&passphrase::Source::current(cli), false, out)?)
            } else {
                None
            };
            let new = passphrase::read(&passphrase::Source::new(new_passphrase_file.as_deref()), true, out)?;
            vault.change_passphrase(old.as_ref(), &new)?;
            out.done("passphrase changed");
        }
        Cmd::Org(OrgCmd::Create { name, domain }) => {
            let id = OrgId::from_uuid(new_id());
            let receipt =
                vault.execute(Command::CreateOrganization { id, name: name.clone(), domain: domain.clone() })?;
            out.created(&id.to_string(), &receipt);
        }
        Cmd::Org(OrgCmd::List) => out.organizations(&vault.organizations()?),
        Cmd::Org(OrgCmd::Show { org }) => out.tree(&vault.organization_tree(id(org)?)?),
        Cmd::Unit(UnitCmd::Create { org, name, parent }) => {
            let command = Command::CreateUnit {
                id: UnitId::from_uuid(new_id()),
                org: id(org)?,
                parent: parent.as_deref().map(id).transpose()?,
                name: name.clone(),
            };
            let Command::CreateUnit { id: unit, .. } = &command else { unreachable!("built above") };
            let unit = unit.to_string();
            let passphrase = passphrase_if_needed(cli, out, &vault, std::slice::from_ref(&command))?;
            let receipt = vault.execute_unlocked(command, passphrase.as_ref())?;
            out.created(&unit, &receipt);
        }
        Cmd::Person(PersonCmd::Add { org, name, email, units }) => {
            let person = PersonId::from_uuid(new_id());
            let units = units.iter().map(|u| id(u)).collect::<Result<Vec<UnitId>, _>>()?;
            let command =
                Command::AddPerson { id: person, org: id(org)?, name: name.clone(), email: email.clone(), units };
            let passphrase = passphrase_if_needed(cli, out, &vault, std::slice::from_ref(&command))?;
            let receipt = vault.execute_unlocked(command, passphrase.as_ref())?;
            out.created(&person.to_string(), &receipt);
        }
        Cmd::Person(PersonCmd::Import { org, file }) => {
            let org: OrgId = id(org)?;
            let rows = args::read_people_csv(file)?;
            let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
            let mut commands = Vec::with_capacity(rows.len());
            for row in rows {
                commands.push(Command::AddPerson {
                    id: PersonId::from_uuid(new_id()),
                    org,
                    name: row.name,
                    email: row.email,
                    units: row
                        .units
                        .iter()
                        .map(|u| id(u))
                        .collect::<Result<Vec<UnitId>, _>>()
                        .map_err(|e| AppError::Invalid(format!("line {}: {e}", row.line)))?,
                });
            }
            let passphrase = passphrase_if_needed(cli, out, &vault, &commands)?;
            let receipt = vault
                .execute_all_unlocked(commands, passphrase.as_ref(), &mut |done, total| {
                    out.progress("importing", done, total)
                })
                .map_err(|e| match e {
                    AppError::Rejected { index: Some(i), error } => AppError::Invalid(format!(
                        "line {}: {error}; nothing was imported",
                        lines.get(i).copied().unwrap_or(i + 1)
                    )),
                    other => other,
                })?;
            out.imported(&receipt);
        }
        Cmd::Role(RoleCmd::Define { org, name }) => {
            let role = RoleId::from_uuid(new_id());
            let receipt = vault.execute(Command::DefineRole { id: role, org: id(org)?, name: name.clone() })?;
            out.created(&role.to_string(), &receipt);
        }
        Cmd::Role(RoleCmd::Assign { role, person, expected_version }) => {
            let receipt = vault.execute(Command::AssignRole {
                role: id(role)?,
                person: id(person)?,
                expected_version: *expected_version,
            })?;
            out.assigned(&receipt);
        }
        Cmd::Key(KeyCmd::Generate { owner, algorithm }) => {
            if algorithm != "ed25519" {
                return Err(AppError::Rejected {
                    index: None,
                    error: crate::domain::DomainError::UnsupportedAlgorithm(algorithm.clone()),
                });
            }
            let owner: PersonId = id(owner)?;
            let passphrase = passphrase::read(&passphrase::Source::current(cli), false, out)?;
            let (key, receipt) = vault.generate_key(owner, &passphrase)?;
            out.key_generated(&key.to_string(), &vault.key(key)?.fingerprint, &receipt);
        }
        Cmd::Key(KeyCmd::List { owner }) => {
            let owner = owner.as_deref().map(id::<PersonId>).transpose()?;
            out.keys(&vault.keys(owner)?);
        }
        Cmd::Key(KeyCmd::ExportPublic { key, out: file }) => {
            let line = vault.export_public_key(id(key)?)?;
            match file {
                Some(path) => write_public(out, path, format!("{line}\n").as_bytes())?,
                None => out.line(&line),
            }
        }
        Cmd::Key(KeyCmd::Revoke { key, reason }) => {
            let key: crate::domain::KeyId = id(key)?;
            let receipt = vault.revoke_key(key, reason)?;
            out.created(&key.to_string(), &receipt);
        }
        Cmd::Pki(PkiCmd::Init { org }) => {
            let org: OrgId = id(org)?;
            let passphrase = passphrase::read(&passphrase::Source::current(cli), false, out)?;
            let (root, intermediate, receipt) = vault.pki_init(org, &passphrase)?;
            out.pki_init(&root.to_string(), &intermediate.to_string(), &receipt);
        }
        Cmd::Pki(PkiCmd::Issue { org, kind, name, sans, days }) => {
            let org: OrgId = id(org)?;
            let spec = crate::app::pki::LeafSpec {
                kind: if kind == "server" {
                    crate::crypto::x509::LeafKind::Server
                } else {
                    crate::crypto::x509::LeafKind::Client
                },
                common_name: name.clone(),
                names: sans.clone(),
                days: *days,
            };
            let passphrase = passphrase::read(&passphrase::Source::current(cli), false, out)?;
            let (certificate, receipt) = vault.pki_issue(org, &spec, &passphrase)?;
            let fingerprint = vault.pki_entry(&certificate.to_string())?.fingerprint;
            out.key_generated(&certificate.to_string(), &fingerprint, &receipt);
        }
        Cmd::Pki(PkiCmd::List { org }) => {
            let (cas, certificates) = vault.pki_list(id(org)?)?;
            out.pki(&cas, &certificates);
        }
        Cmd::Pki(PkiCmd::Export { id: entry, out: file }) => {
            let pem = vault.pki_pem(entry.trim())?;
            match file {
                Some(path) => write_public(out, path, pem.as_bytes())?,
                None => out.line(pem.trim_end()),
            }
        }
        Cmd::Nats(NatsCmd::Bootstrap { org }) => {
            let org: OrgId = id(org)?;
            let passphrase = passphrase::read(&passphrase::Source::current(cli), false, out)?;
            out.nats_bootstrap(&vault.nats_bootstrap(org, &passphrase)?);
        }
        Cmd::Nats(NatsCmd::List { org }) => out.nats_list(&vault.nats_list(id(org)?)?),
        Cmd::Nats(NatsCmd::Show { id: entity }) => out.nats_jwt(&vault.nats_jwt(entity)?),
        Cmd::Nats(NatsCmd::Creds { user, person, out: file }) => {
            let user: crate::domain::NatsUserId = match (user, person) {
                (Some(user), _) => id(user)?,
                (None, Some(person)) => vault.nats_user_of_person(id(person)?)?,
                (None, None) => return Err(AppError::Invalid("give --user ID or --person ID".into())),
            };
            let passphrase = passphrase::read(&passphrase::Source::current(cli), false, out)?;
            vault.nats_write_creds(user, &passphrase, file)?;
            out.done(&format!("wrote {}", file.display()));
        }
        Cmd::Nats(NatsCmd::ServerConfig { org, out: file, jetstream_dir, no_jetstream }) => {
            let jetstream = (!*no_jetstream).then(|| crate::crypto::nats::JetStreamServerConfig {
                store_dir: jetstream_dir.clone(),
                ..Default::default()
            });
            let config = vault.nats_server_config(id(org)?, jetstream.as_ref())?;
            write_public(out, file, config.as_bytes())?;
        }
        Cmd::Nats(NatsCmd::RevokeUser { user }) => {
            let user: crate::domain::NatsUserId = id(user)?;
            let passphrase = passphrase::read(&passphrase::Source::current(cli), false, out)?;
            let receipt = vault.nats_revoke_user(user, &passphrase)?;
            out.created(&user.to_string(), &receipt);
        }
        #[cfg(feature = "sync")]
        Cmd::Nats(NatsCmd::TestConnection { .. }) => unreachable!("handled above"),
        Cmd::Nats(NatsCmd::RotateSigningKey { key }) => {
            let passphrase = passphrase::read(&passphrase::Source::current(cli), false, out)?;
            out.nats_rotation(&vault.nats_rotate_signing_key(key, &passphrase)?);
        }
        Cmd::Events { domain, after, limit } => {
            let query = EventQuery { after: *after, limit: *limit };
            if *domain {
                out.domain_events(&vault.domain_events(query)?);
            } else {
                out.graph_events(&vault.graph_events(query)?);
            }
        }
        Cmd::Verify { deep } => {
            let report = vault.verify(*deep)?;
            out.verify(&report);
            if !report.ok() {
                return Ok(EXIT_FAILED);
            }
        }
        Cmd::Status => {
            let device_key = vault.device_fingerprint()?;
            #[cfg(feature = "sync")]
            let upload_error = vault.last_sync_error()?;
            #[cfg(not(feature = "sync"))]
            let upload_error = None;
            out.status(
                &vault.status()?,
                vault.kdf_params()?,
                device_key.as_deref(),
                vault.data_dir(),
                upload_error.as_ref(),
            );
        }
        Cmd::Export { out: dir, recipients, since_last, bundle_passphrase_file } => {
            bundle::export(cli, out, &mut vault, dir, recipients, *since_last, bundle_passphrase_file.as_deref())?;
        }
        Cmd::Import { file, identity, expect_signer, bundle_passphrase_file } => {
            bundle::import(
                out,
                &mut vault,
                file,
                identity.as_deref(),
                expect_signer.as_deref(),
                bundle_passphrase_file.as_deref(),
            )?;
        }
        Cmd::Backup { out: file, recipients, backup_passphrase_file } => {
            backup::backup(cli, out, &vault, file, recipients, backup_passphrase_file.as_deref())?;
        }
        Cmd::Restore { file, identity, backup_passphrase_file } => {
            backup::restore(cli, out, &mut vault, file, identity.as_deref(), backup_passphrase_file.as_deref())?;
        }
        #[cfg(feature = "sync")]
        Cmd::Sync { server, save, .. } => sync::sync(out, &mut vault, server, *save)?,
        #[cfg(feature = "sync")]
        Cmd::Replay { .. } => unreachable!("handled above"),
    }
    Ok(EXIT_OK)
}

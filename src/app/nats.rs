//! The organization's NATS security hierarchy, as `nsc` users know it, made offline.
//!
//! `nats bootstrap` creates, in one transaction: the operator (identity key, one signing key,
//! `strict_signing_key_usage`), the system account, the organization account (for people who
//! are in no unit), one account per unit (JetStream enabled with explicit limits, every other
//! limit explicit `-1`), and one user per person, in the account of the person's earliest unit
//! (units are UUIDv7, so that is the unit created first) or the organization account.
//!
//! Every non-system account has two signing keys: a scoped one (role [`MEMBER_ROLE`], whose
//! template gives the account's full permissions with explicit `-1` limits) that issues the
//! people's users, and a plain one for users with permissions of their own. Strict signing key
//! usage makes the server refuse anything signed by an identity key other than the operator
//! JWT itself, so users carry `issuer_account`.
//!
//! Once an organization is bootstrapped, a unit or person added later gets its account or
//! user in the same transaction ([`Vault::execute_all_unlocked`]); bootstrapping again is
//! refused (nothing to do twice, and a second operator would split the trust chain).
//!
//! Seeds are drawn from the OS CSPRNG and sealed in the keystore under their public key as id;
//! JWTs are public artifact blocks (CIDv1, raw codec, sha2-256 of the token's ASCII bytes)
//! referenced from the events by CID.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::Serialize;
use zeroize::Zeroizing;

use super::{AppError, Extras, Receipt, Vault, random, single};
use crate::crypto::keystore::{self, MasterKey, Passphrase, SecretBytes};
use crate::crypto::nats::{
    self, Account, Claims, CredsFile, JetStreamLimits, JetStreamServerConfig, Jwt, NKeyKind, NatsClaim, NatsError,
    NatsKeyPair, Operator, OperatorLimits, SigningKey, User, UserPermissionLimits, UserScope,
};
use crate::domain::{
    AccountId, Command, DomainError, NatsEntity, NatsOwner, NatsReissued, NatsSigningKey, NatsUserId, OperatorId,
    OrgId, PersonId, UnitId,
};
use crate::projection::raw_cid_of;
use crate::store::{NatsAccountRow, NatsOperatorRow, NatsUserRow, StoreError};

/// Keystore kind of an operator key's 32-byte ed25519 seed.
pub const OPERATOR_SEED_KIND: &str = "nats-operator-seed";
/// Keystore kind of an account key's 32-byte ed25519 seed.
pub const ACCOUNT_SEED_KIND: &str = "nats-account-seed";
/// Keystore kind of a user key's 32-byte ed25519 seed.
pub const USER_SEED_KIND: &str = "nats-user-seed";
/// Media type of JWT artifact blocks.
pub const JWT_MEDIA_TYPE: &str = "application/jwt";
/// The role of every account's scoped signing key, which issues the people's users.
pub const MEMBER_ROLE: &str = "member";
/// Name of the system account.
pub const SYSTEM_ACCOUNT_NAME: &str = "SYS";
/// JetStream memory storage of a unit or organization account, bytes (256 MiB).
pub const JETSTREAM_MEMORY: i64 = 256 << 20;
/// JetStream file storage of a unit or organization account, bytes (10 GiB).
pub const JETSTREAM_DISK: i64 = 10 << 30;

/// The JetStream limits of a unit or organization account: storage as above, every other
/// limit explicitly unlimited.
pub fn account_jetstream_limits() -> JetStreamLimits {
    JetStreamLimits { memory_storage: JETSTREAM_MEMORY, disk_storage: JETSTREAM_DISK, ..JetStreamLimits::UNLIMITED }
}

/// The user template of the scoped [`MEMBER_ROLE`] key: everything the account allows, every
/// message limit explicitly `-1`.
fn member_template() -> UserPermissionLimits {
    UserPermissionLimits::unlimited()
}

fn unix_now() -> i64 {
    Utc::now().timestamp()
}

fn corrupt(what: String) -> AppError {
    AppError::Store(StoreError::Corrupt(what))
}

fn nats_invalid(e: NatsError) -> AppError {
    AppError::Invalid(e.to_string())
}

fn rejected(error: DomainError) -> AppError {
    AppError::Rejected { index: None, error }
}

/// What `nats bootstrap` made.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapReport {
    /// The operator.
    pub operator: OperatorId,
    /// Its identity public key.
    pub operator_key: String,
    /// Accounts created (system, organization, units).
    pub accounts: usize,
    /// Users created.
    pub users: usize,
    /// The transaction.
    pub receipt: Receipt,
}

/// A JWT re-issued by a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReissuedJwt {
    /// `operator`, `account` or `user`.
    pub kind: &'static str,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its public key (the JWT's subject).
    pub public_key: String,
    /// The new JWT's CID.
    pub jwt: String,
}

/// What `nats rotate-signing-key` did.
#[derive(Debug, Clone, Serialize)]
pub struct RotationReport {
    /// The retired key.
    pub old_key: String,
    /// Its replacement.
    pub new_key: String,
    /// The JWTs re-issued, the owner's first.
    pub reissued: Vec<ReissuedJwt>,
    /// Revoked users signed by the old key, not re-issued (that would undo the revocation).
    pub skipped_revoked: Vec<String>,
    /// The transaction.
    pub receipt: Receipt,
}

/// An organization's NATS hierarchy, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct NatsTree {
    /// The operator.
    pub operator: NatsOperatorRow,
    /// Its accounts: system, organization, units.
    pub accounts: Vec<NatsAccountRow>,
    /// The users.
    pub users: Vec<NatsUserRow>,
}

/// The decoded claims of a stored JWT.
#[derive(Debug, Clone, Serialize)]
pub struct JwtView {
    /// `operator`, `account` or `user`.
    pub kind: &'static str,
    /// The token.
    pub token: String,
    /// Its CID.
    pub cid: String,
    /// The claims, as JSON.
    pub claims: serde_json::Value,
}

/// Keys, JWTs and sealed seeds made during one command; everything it seals and stores goes
/// into [`Extras`], so it commits with the events or not at all.
struct Mint<'a> {
    master: &'a MasterKey,
    iat: i64,
    extras: Extras,
    /// Signing keys unsealed or created in this command, by public key.
    signers: BTreeMap<String, NatsKeyPair>,
}

impl<'a> Mint<'a> {
    fn new(master: &'a MasterKey) -> Self {
        Self { master, iat: unix_now(), extras: Extras::default(), signers: BTreeMap::new() }
    }

    /// A fresh key pair whose seed is sealed into the extras.
    fn key(&mut self, kind: NKeyKind) -> Result<NatsKeyPair, AppError> {
        let seed = Zeroizing::new(random::<32>()?);
        let pair = NatsKeyPair::from_raw_seed(kind, &seed).map_err(nats_invalid)?;
        let seed_kind = match kind {
            NKeyKind::Operator => OPERATOR_SEED_KIND,
            NKeyKind::Account => ACCOUNT_SEED_KIND,
            _ => USER_SEED_KIND,
        };
        let sealed =
            keystore::seal(self.master, pair.public_key(), seed_kind, &SecretBytes::new(seed.to_vec()), random()?);
        self.extras.secrets.push((pair.public_key().to_owned(), seed_kind, sealed));
        Ok(pair)
    }

    /// A fresh signing key, kept for signing within this command.
    fn signing_key(&mut self, kind: NKeyKind) -> Result<String, AppError> {
        let pair = self.key(kind)?;
        let public = pair.public_key().to_owned();
        self.signers.insert(public.clone(), pair);
        Ok(public)
    }

    /// Signs claims with the signing key `signer` (created or unsealed earlier in this
    /// command) and stores the token as an artifact block; returns the token and its CID.
    fn sign<T: NatsClaim>(&mut self, claims: Claims<T>, signer: &str) -> Result<(Jwt<T>, String), AppError> {
        let pair = self.signers.get(signer).ok_or_else(|| corrupt(format!("signing key {signer} is not unsealed")))?;
        let jwt = nats::encode(claims, pair, self.iat).map_err(nats_invalid)?;
        Ok(Self::store_jwt(&mut self.extras, jwt))
    }

    /// Signs claims with a key that is not one of the signing keys (the operator's identity).
    fn sign_with<T: NatsClaim>(&mut self, claims: Claims<T>, pair: &NatsKeyPair) -> Result<(Jwt<T>, String), AppError> {
        let jwt = nats::encode(claims, pair, self.iat).map_err(nats_invalid)?;
        Ok(Self::store_jwt(&mut self.extras, jwt))
    }

    fn store_jwt<T: NatsClaim>(extras: &mut Extras, jwt: Jwt<T>) -> (Jwt<T>, String) {
        let cid = raw_cid_of(jwt.token().as_bytes());
        extras.artifacts.push((cid, JWT_MEDIA_TYPE, jwt.token().as_bytes().to_vec()));
        (jwt, cid.to_string())
    }
}

/// Users minted per batch during a bootstrap.
const USER_BATCH: usize = 256;

/// A new user's command, issued by the account's scoped member key.
fn mint_user(
    mint: &mut Mint<'_>,
    account: &AccountForUsers,
    person: PersonId,
    name: &str,
) -> Result<Command, AppError> {
    let pair = mint.key(NKeyKind::User)?;
    let claims = Claims::new(name, pair.public_key(), User::scoped(account.public_key.clone()));
    let (_, jwt) = mint.sign(claims, &account.member_key)?;
    Ok(Command::CreateNatsUser {
        id: NatsUserId::from_uuid(super::new_id()),
        account: account.id,
        person,
        name: name.to_owned(),
        public_key: pair.public_key().to_owned(),
        signer: account.member_key.clone(),
        jwt,
    })
}

/// What is known about an account while minting users into it.
struct AccountForUsers {
    id: AccountId,
    public_key: String,
    member_key: String,
}

impl Vault {
    /// Unseals the seed stored under `public_key` as a key pair of `kind`.
    fn unseal_nats(&self, master: &MasterKey, public_key: &str, kind: NKeyKind) -> Result<NatsKeyPair, AppError> {
        let (seed_kind, sealed) = self
            .store
            .secret(public_key)?
            .ok_or_else(|| corrupt(format!("the seed of {public_key} is missing from the keystore")))?;
        let seed = keystore::open(master, public_key, &seed_kind, &sealed)?;
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            seed.expose_secret().try_into().map_err(|_| corrupt(format!("the seed of {public_key} is malformed")))?,
        );
        let pair = NatsKeyPair::from_raw_seed(kind, &seed).map_err(nats_invalid)?;
        if pair.public_key() != public_key {
            return Err(corrupt(format!("the sealed seed of {public_key} belongs to another key")));
        }
        Ok(pair)
    }

    /// The stored token of a JWT, its CID checked.
    fn stored_jwt(&self, cid_text: &str) -> Result<String, AppError> {
        let bytes = self.checked_artifact(cid_text, "JWT")?;
        String::from_utf8(bytes).map_err(|_| corrupt(format!("the JWT block {cid_text} is not text")))
    }

    fn decode_stored<T: NatsClaim>(&self, cid_text: &str) -> Result<Jwt<T>, AppError> {
        let token = self.stored_jwt(cid_text)?;
        nats::decode(&token).map_err(|e| corrupt(format!("the stored JWT {cid_text} does not verify: {e}")))
    }

    fn operator_row(&self, org: OrgId) -> Result<NatsOperatorRow, AppError> {
        self.store.nats_operator(&org.to_string())?.ok_or(rejected(DomainError::NatsNotBootstrapped(org)))
    }

    /// Creates the organization's NATS hierarchy (see the module documentation).
    pub fn nats_bootstrap(&mut self, org: OrgId, passphrase: &Passphrase) -> Result<BootstrapReport, AppError> {
        let name = self.org_name(org)?;
        if self.store.nats_operator(&org.to_string())?.is_some() {
            return Err(rejected(DomainError::NatsBootstrapped(org)));
        }
        let tree = self.organization_tree(org)?;
        let master = self.unlock(passphrase)?;
        let mut mint = Mint::new(&master);
        let mut commands = Vec::new();

        let operator_id = OperatorId::from_uuid(super::new_id());
        let identity = mint.key(NKeyKind::Operator)?;
        let operator_signer = mint.signing_key(NKeyKind::Operator)?;
        let system = mint.key(NKeyKind::Account)?;
        let claims = Operator {
            signing_keys: vec![operator_signer.clone()],
            system_account: system.public_key().to_owned(),
            strict_signing_key_usage: true,
            ..Operator::default()
        };
        let (_, jwt) = mint.sign_with(Claims::new(name.clone(), identity.public_key(), claims), &identity)?;
        commands.push(Command::CreateNatsOperator {
            id: operator_id,
            org,
            name: name.clone(),
            public_key: identity.public_key().to_owned(),
            signing_keys: vec![operator_signer.clone()],
            system_account: system.public_key().to_owned(),
            jwt,
        });
        commands.push(self.new_account(&mut mint, org, &operator_signer, AccountSpec::System(Box::new(system)))?.0);
        let (command, org_account) =
            self.new_account(&mut mint, org, &operator_signer, AccountSpec::Organization(&name))?;
        commands.push(command);
        let mut accounts: BTreeMap<Option<String>, AccountForUsers> = BTreeMap::new();
        accounts.insert(None, org_account.ok_or_else(|| corrupt("the organization account has no member key".into()))?);
        for unit in &tree.units {
            let unit_id: UnitId = unit.id.parse()?;
            let (command, account) =
                self.new_account(&mut mint, org, &operator_signer, AccountSpec::Unit(unit_id, &unit.name))?;
            commands.push(command);
            let account = account.ok_or_else(|| corrupt(format!("unit {}'s account has no member key", unit.id)))?;
            accounts.insert(Some(unit.id.clone()), account);
        }
        let account_count = accounts.len() + 1;
        // The users are minted on a second thread, in batches, while this one records: key
        // generation and signing overlap with SQLite. Everything still commits in one
        // transaction, or nothing does.
        let users = tree.people.len();
        let people = tree
            .people
            .iter()
            .map(|p| Ok((p.id.parse::<PersonId>()?, p.email.clone(), p.units.iter().min().cloned())))
            .collect::<Result<Vec<_>, AppError>>()?;
        let total = commands.len() + users;
        let first = (commands, std::mem::take(&mut mint.extras));
        let (signers, iat, master) = (std::mem::take(&mut mint.signers), mint.iat, mint.master);
        let receipt = std::thread::scope(|scope| {
            let (sender, receiver) = std::sync::mpsc::sync_channel(4);
            scope.spawn(move || {
                let mut mint = Mint { master, iat, extras: Extras::default(), signers };
                for chunk in people.chunks(USER_BATCH) {
                    let batch = chunk
                        .iter()
                        .map(|(person, email, unit)| {
                            let account = accounts
                                .get(unit)
                                .ok_or_else(|| corrupt(format!("person {person} is in a unit without an account")))?;
                            mint_user(&mut mint, account, *person, email)
                        })
                        .collect::<Result<Vec<_>, AppError>>()
                        .map(|commands| (commands, std::mem::take(&mut mint.extras)));
                    let failed = batch.is_err();
                    if sender.send(batch).is_err() || failed {
                        break;
                    }
                }
            });
            self.run_batches(std::iter::once(Ok(first)).chain(receiver), total, &mut |_, _| {})
        })
        .map_err(single)?;
        Ok(BootstrapReport {
            operator: operator_id,
            operator_key: identity.public_key().to_owned(),
            accounts: account_count,
            users,
            receipt,
        })
    }

    /// A new account's command (its keys sealed and JWT stored through `mint`), and for a
    /// non-system account what is needed to issue its users.
    fn new_account(
        &self,
        mint: &mut Mint<'_>,
        org: OrgId,
        operator_signer: &str,
        spec: AccountSpec<'_>,
    ) -> Result<(Command, Option<AccountForUsers>), AppError> {
        let id = AccountId::from_uuid(super::new_id());
        let (identity, name, unit, system) = match spec {
            AccountSpec::System(pair) => (*pair, SYSTEM_ACCOUNT_NAME.to_owned(), None, true),
            AccountSpec::Organization(name) => (mint.key(NKeyKind::Account)?, name.to_owned(), None, false),
            AccountSpec::Unit(unit, name) => (mint.key(NKeyKind::Account)?, name.to_owned(), Some(unit), false),
        };
        let public_key = identity.public_key().to_owned();
        let (claims, signing_keys, member) = if system {
            let plain = mint.signing_key(NKeyKind::Account)?;
            let mut claims = Account::with_limits(OperatorLimits::unlimited());
            claims.signing_keys = vec![SigningKey::Plain(plain.clone())];
            (claims, vec![NatsSigningKey { public_key: plain, role: None }], None)
        } else {
            let member = mint.signing_key(NKeyKind::Account)?;
            let plain = mint.signing_key(NKeyKind::Account)?;
            let mut claims = Account::with_limits(OperatorLimits::with_jetstream(account_jetstream_limits()));
            claims.signing_keys = vec![
                SigningKey::Scoped(UserScope::new(member.clone(), MEMBER_ROLE, member_template())),
                SigningKey::Plain(plain.clone()),
            ];
            let keys = vec![
                NatsSigningKey { public_key: member.clone(), role: Some(MEMBER_ROLE.to_owned()) },
                NatsSigningKey { public_key: plain, role: None },
            ];
            (claims, keys, Some(member))
        };
        let jetstream = claims.limits.jetstream.is_enabled();
        let (_, jwt) = mint.sign(Claims::new(name.clone(), public_key.clone(), claims), operator_signer)?;
        let command = Command::CreateNatsAccount {
            id,
            org,
            unit,
            system,
            name,
            public_key: public_key.clone(),
            signing_keys,
            jetstream,
            jwt,
        };
        Ok((command, member.map(|member_key| AccountForUsers { id, public_key, member_key })))
    }

    /// Whether running `commands` issues NATS accounts or users (a unit or person added to a
    /// bootstrapped organization), and so needs the passphrase.
    pub fn needs_passphrase(&self, commands: &[Command]) -> Result<bool, AppError> {
        let mut bootstrapped = BTreeMap::new();
        for command in commands {
            let org = match command {
                Command::CreateUnit { org, .. } | Command::AddPerson { org, .. } => *org,
                _ => continue,
            };
            let is = match bootstrapped.get(&org) {
                Some(&known) => known,
                None => {
                    let known = self.store.nats_operator(&org.to_string())?.is_some();
                    bootstrapped.insert(org, known);
                    known
                }
            };
            if is {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// [`Vault::execute_all_with_progress`] for commands that may add units or people to a
    /// bootstrapped organization: their accounts and users are issued in the same transaction
    /// (after the given commands, so a refusal's position still names the given command).
    /// Without a passphrase, such commands are refused before anything is recorded.
    pub fn execute_all_unlocked(
        &mut self,
        commands: Vec<Command>,
        passphrase: Option<&Passphrase>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Receipt, AppError> {
        if !self.needs_passphrase(&commands)? {
            return self.run(commands, Extras::default(), progress);
        }
        let Some(passphrase) = passphrase else {
            return Err(AppError::Invalid(
                "the organization is bootstrapped for NATS: a new unit or person gets its NATS account or user, \
                 which needs the passphrase"
                    .into(),
            ));
        };
        let master = self.unlock(passphrase)?;
        let mut mint = Mint::new(&master);
        let mut extra = Vec::new();
        let mut accounts: BTreeMap<(OrgId, Option<String>), AccountForUsers> = BTreeMap::new();
        for command in &commands {
            match command {
                Command::CreateUnit { id, org, name, .. } => {
                    let Some(operator) = self.store.nats_operator(&org.to_string())? else { continue };
                    let signer = self.operator_signer(&mut mint, &operator)?;
                    let (command, account) =
                        self.new_account(&mut mint, *org, &signer, AccountSpec::Unit(*id, name))?;
                    extra.push(command);
                    let account = account.ok_or_else(|| corrupt(format!("unit {id}'s account has no member key")))?;
                    accounts.insert((*org, Some(id.to_string())), account);
                }
                Command::AddPerson { id, org, email, units, .. } => {
                    if self.store.nats_operator(&org.to_string())?.is_none() {
                        continue;
                    }
                    let first = units.iter().min().map(ToString::to_string);
                    let key = (*org, first.clone());
                    if !accounts.contains_key(&key) {
                        let account = self.account_for_users(&mut mint, *org, first.as_deref())?;
                        accounts.insert(key.clone(), account);
                    }
                    extra.push(mint_user(&mut mint, &accounts[&key], *id, email.trim())?);
                }
                _ => {}
            }
        }
        let mut all = commands;
        all.extend(extra);
        let extras = std::mem::take(&mut mint.extras);
        self.run(all, extras, progress)
    }

    /// The organization's current operator signing key, unsealed into `mint`.
    fn operator_signer(&self, mint: &mut Mint<'_>, operator: &NatsOperatorRow) -> Result<String, AppError> {
        let signer = operator
            .signing_keys
            .first()
            .cloned()
            .ok_or_else(|| corrupt(format!("operator {} has no signing key", operator.id)))?;
        if !mint.signers.contains_key(&signer) {
            let pair = self.unseal_nats(mint.master, &signer, NKeyKind::Operator)?;
            mint.signers.insert(signer.clone(), pair);
        }
        Ok(signer)
    }

    /// An existing account's user-issuing facts, its member key unsealed into `mint`. `unit`
    /// none is the organization account. A unit without an account (impossible through this
    /// application) is reported as corruption.
    fn account_for_users(
        &self,
        mint: &mut Mint<'_>,
        org: OrgId,
        unit: Option<&str>,
    ) -> Result<AccountForUsers, AppError> {
        let account = self
            .store
            .nats_accounts(&org.to_string())?
            .into_iter()
            .find(|a| !a.system && a.unit_id.as_deref() == unit)
            .ok_or_else(|| corrupt(format!("organization {org} has no NATS account for unit {unit:?}")))?;
        let member = account
            .signing_keys
            .iter()
            .find(|k| k.role.as_deref() == Some(MEMBER_ROLE))
            .map(|k| k.public_key.clone())
            .ok_or_else(|| corrupt(format!("account {} has no member signing key", account.id)))?;
        if !mint.signers.contains_key(&member) {
            let pair = self.unseal_nats(mint.master, &member, NKeyKind::Account)?;
            mint.signers.insert(member.clone(), pair);
        }
        Ok(AccountForUsers { id: account.id.parse()?, public_key: account.public_key, member_key: member })
    }

    /// The organization's operator, accounts and users.
    pub fn nats_list(&self, org: OrgId) -> Result<NatsTree, AppError> {
        self.org_name(org)?;
        let operator = self.operator_row(org)?;
        let key = org.to_string();
        Ok(NatsTree { operator, accounts: self.store.nats_accounts(&key)?, users: self.store.nats_users(&key)? })
    }

    /// An operator by its id or its organization's id.
    fn operator_by_id_or_org(&self, key: &str) -> Result<Option<NatsOperatorRow>, AppError> {
        for org in self.organizations()? {
            if let Some(operator) = self.store.nats_operator(&org.id)?
                && (operator.id == key || operator.org_id == key)
            {
                return Ok(Some(operator));
            }
        }
        Ok(None)
    }

    /// The current JWT of an operator, account or user (by id; an organization's id names its
    /// operator), decoded.
    pub fn nats_jwt(&self, id: &str) -> Result<JwtView, AppError> {
        let key = id.trim();
        let (kind, cid) = if let Some(user) = self.store.nats_user(key)? {
            ("user", user.jwt)
        } else if let Some(account) = self.store.nats_account(key)? {
            ("account", account.jwt)
        } else if let Some(operator) = self.operator_by_id_or_org(key)? {
            ("operator", operator.jwt)
        } else {
            return Err(AppError::Invalid(format!(
                "no NATS operator, account or user, nor a bootstrapped organization, has the id '{}'; \
                 `cim-keys nats list --org ORG` shows them",
                crate::domain::excerpt(id)
            )));
        };
        let token = self.stored_jwt(&cid)?;
        let json =
            nats::jwt::claims_json(&token).map_err(|e| corrupt(format!("the stored JWT {cid} is malformed: {e}")))?;
        let claims = serde_json::from_slice(&json).map_err(|e| corrupt(format!("the stored JWT {cid}: {e}")))?;
        Ok(JwtView { kind, token, cid, claims })
    }

    /// The creds file of a user: its current JWT and its unsealed seed. A revoked user gets
    /// none (the server would refuse it).
    pub fn nats_creds(&self, user: NatsUserId, passphrase: &Passphrase) -> Result<CredsFile, AppError> {
        let row = self.store.nats_user(&user.to_string())?.ok_or(rejected(DomainError::UnknownNatsUser(user)))?;
        if row.revoked_at.is_some() {
            return Err(rejected(DomainError::NatsUserRevoked(user)));
        }
        let token = self.stored_jwt(&row.jwt)?;
        let master = self.unlock(passphrase)?;
        let pair = self.unseal_nats(&master, &row.public_key, NKeyKind::User)?;
        let seed = pair.seed().map_err(nats_invalid)?;
        nats::creds_file(&token, &seed).map_err(|e| corrupt(format!("user {user}'s JWT and seed do not match: {e}")))
    }

    /// The NATS user of a person.
    pub fn nats_user_of_person(&self, person: PersonId) -> Result<NatsUserId, AppError> {
        let key = person.to_string();
        for org in self.organizations()? {
            if let Some(user) = self.store.nats_users(&org.id)?.into_iter().find(|u| u.person_id == key) {
                return Ok(user.id.parse()?);
            }
            if self.organization_tree(org.id.parse()?)?.people.iter().any(|p| p.id == key) {
                return Err(AppError::Invalid(format!(
                    "person {person} has no NATS user: organization {} is not bootstrapped for NATS; run \
                     `cim-keys nats bootstrap --org {}` first",
                    org.id, org.id
                )));
            }
        }
        Err(rejected(DomainError::UnknownPerson(person)))
    }

    /// Writes a user's creds file to `path` (mode 0600, atomically).
    pub fn nats_write_creds(
        &self,
        user: NatsUserId,
        passphrase: &Passphrase,
        path: &std::path::Path,
    ) -> Result<(), AppError> {
        let creds = self.nats_creds(user, passphrase)?;
        super::files::write_atomically(path, creds.expose_secret(), super::files::SECRET_MODE)
    }

    /// Runs one command that may add a unit or person to a bootstrapped organization (see
    /// [`Vault::execute_all_unlocked`]).
    pub fn execute_unlocked(&mut self, command: Command, passphrase: Option<&Passphrase>) -> Result<Receipt, AppError> {
        self.execute_all_unlocked(vec![command], passphrase, &mut |_, _| {}).map_err(single)
    }

    /// The nats-server configuration of a bootstrapped organization: the operator, the system
    /// account, `resolver: MEMORY` with every account preloaded, and JetStream when given.
    pub fn nats_server_config(
        &self,
        org: OrgId,
        jetstream: Option<&JetStreamServerConfig>,
    ) -> Result<String, AppError> {
        self.org_name(org)?;
        let operator = self.operator_row(org)?;
        let operator_jwt = self.stored_jwt(&operator.jwt)?;
        let accounts = self
            .store
            .nats_accounts(&org.to_string())?
            .iter()
            .map(|a| self.stored_jwt(&a.jwt))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&str> = accounts.iter().map(String::as_str).collect();
        nats::server_config(&operator_jwt, &refs, jetstream)
            .map_err(|e| corrupt(format!("the stored NATS JWTs do not form a valid configuration: {e}")))
    }

    /// Revokes a user: its account JWT is re-issued (by the operator's signing key) with the
    /// user's public key revoked as of now.
    pub fn nats_revoke_user(&mut self, user: NatsUserId, passphrase: &Passphrase) -> Result<Receipt, AppError> {
        let row = self.store.nats_user(&user.to_string())?.ok_or(rejected(DomainError::UnknownNatsUser(user)))?;
        if row.revoked_at.is_some() {
            return Err(rejected(DomainError::NatsUserRevoked(user)));
        }
        let org: OrgId = row.org_id.parse()?;
        let account = self
            .store
            .nats_account(&row.account_id)?
            .ok_or_else(|| corrupt(format!("user {user}'s account {} is missing", row.account_id)))?;
        let operator = self.operator_row(org)?;
        let master = self.unlock(passphrase)?;
        let mut mint = Mint::new(&master);
        let signer = self.operator_signer(&mut mint, &operator)?;
        let (_, mut claims) = self.decode_stored::<Account>(&account.jwt)?.into_parts();
        claims.nats.revoke(row.public_key.clone(), mint.iat);
        let (_, account_jwt) = mint.sign(claims, &signer)?;
        let command = Command::RevokeNatsUser { user, revoked_at: mint.iat, account_jwt };
        let extras = std::mem::take(&mut mint.extras);
        self.run(vec![command], extras, &mut |_, _| {}).map_err(single)
    }

    /// Rotates a signing key: a new key takes its place (same role) in its owner's JWT, which
    /// is re-issued, and every JWT the old key signed is re-issued with the new key — except
    /// revoked users', which stay revoked. The old key is retired.
    pub fn nats_rotate_signing_key(&mut self, key: &str, passphrase: &Passphrase) -> Result<RotationReport, AppError> {
        let key = key.trim();
        let owner = self
            .store
            .nats_signing_key(key)?
            .ok_or_else(|| rejected(DomainError::NatsUnknownSigningKey(crate::domain::key_text(key))))?;
        if owner.retired {
            return Err(rejected(DomainError::NatsRetiredKey(crate::domain::key_text(key))));
        }
        let org: OrgId = owner.org_id.parse()?;
        let operator = self.operator_row(org)?;
        let master = self.unlock(passphrase)?;
        let mut mint = Mint::new(&master);
        let mut reissued = Vec::new();
        let mut skipped_revoked = Vec::new();
        let (owner_ref, new_key) = match owner.owner_kind.as_str() {
            "operator" => {
                let new_key = mint.signing_key(NKeyKind::Operator)?;
                let identity = self.unseal_nats(&master, &operator.public_key, NKeyKind::Operator)?;
                let (_, mut claims) = self.decode_stored::<Operator>(&operator.jwt)?.into_parts();
                for k in &mut claims.nats.signing_keys {
                    if k == key {
                        k.clone_from(&new_key);
                    }
                }
                let (_, jwt) = mint.sign_with(claims, &identity)?;
                reissued.push(reissued_jwt("operator", &operator.id, &operator.name, &operator.public_key, jwt));
                for account in self.store.nats_accounts(&org.to_string())? {
                    let decoded = self.decode_stored::<Account>(&account.jwt)?;
                    if decoded.issuer() != key {
                        continue;
                    }
                    let (_, claims) = decoded.into_parts();
                    let (_, jwt) = mint.sign(claims, &new_key)?;
                    reissued.push(reissued_jwt("account", &account.id, &account.name, &account.public_key, jwt));
                }
                (NatsOwner::Operator(operator.id.parse()?), NatsSigningKey { public_key: new_key, role: None })
            }
            _ => {
                let account = self
                    .store
                    .nats_account(&owner.owner_id)?
                    .ok_or_else(|| corrupt(format!("the account {} of key {key} is missing", owner.owner_id)))?;
                let new_key = mint.signing_key(NKeyKind::Account)?;
                let operator_signer = self.operator_signer(&mut mint, &operator)?;
                let (_, mut claims) = self.decode_stored::<Account>(&account.jwt)?.into_parts();
                for k in &mut claims.nats.signing_keys {
                    match k {
                        SigningKey::Plain(p) if p == key => p.clone_from(&new_key),
                        SigningKey::Scoped(scope) if scope.key == key => scope.key.clone_from(&new_key),
                        _ => {}
                    }
                }
                let (_, jwt) = mint.sign(claims, &operator_signer)?;
                reissued.push(reissued_jwt("account", &account.id, &account.name, &account.public_key, jwt));
                for user in self.store.nats_users_signed_by(key)? {
                    if user.revoked_at.is_some() {
                        skipped_revoked.push(user.id);
                        continue;
                    }
                    let (_, claims) = self.decode_stored::<User>(&user.jwt)?.into_parts();
                    let (_, jwt) = mint.sign(claims, &new_key)?;
                    reissued.push(reissued_jwt("user", &user.id, &user.name, &user.public_key, jwt));
                }
                (NatsOwner::Account(account.id.parse()?), NatsSigningKey { public_key: new_key, role: owner.role })
            }
        };
        let entities = reissued
            .iter()
            .map(|r| {
                let entity = match r.kind {
                    "operator" => NatsEntity::Operator(r.id.parse()?),
                    "account" => NatsEntity::Account(r.id.parse()?),
                    _ => NatsEntity::User(r.id.parse()?),
                };
                Ok(NatsReissued { entity, jwt: r.jwt.clone() })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        let command = Command::RotateNatsSigningKey {
            org,
            owner: owner_ref,
            old_key: key.to_owned(),
            new_key: new_key.clone(),
            reissued: entities,
        };
        let extras = std::mem::take(&mut mint.extras);
        let receipt = self.run(vec![command], extras, &mut |_, _| {}).map_err(single)?;
        Ok(RotationReport { old_key: key.to_owned(), new_key: new_key.public_key, reissued, skipped_revoked, receipt })
    }
}

fn reissued_jwt(kind: &'static str, id: &str, name: &str, public_key: &str, jwt: String) -> ReissuedJwt {
    ReissuedJwt { kind, id: id.to_owned(), name: name.to_owned(), public_key: public_key.to_owned(), jwt }
}

/// Which account to create.
enum AccountSpec<'a> {
    /// The system account, whose key the operator JWT already names.
    System(Box<NatsKeyPair>),
    /// The organization account, named after the organization.
    Organization(&'a str),
    /// A unit's account, named after the unit.
    Unit(UnitId, &'a str),
}

/// Connects to a NATS server with a creds file and checks publish/subscribe and JetStream
/// (see [`crate::sync::check_connection`]); for the online machine, after `server-config`.
#[cfg(feature = "sync")]
pub fn test_connection(
    server: &str,
    creds: &std::path::Path,
    timeout: std::time::Duration,
) -> Result<crate::sync::ConnectionCheck, AppError> {
    crate::sync::check_connection(server, creds, timeout).map_err(|e| AppError::Network(e.to_string()))
}

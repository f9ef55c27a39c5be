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
use std::sync::mpsc;

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
/// JetStream memory storage of a unit or organization account, bytes (64 MiB).
pub const JETSTREAM_MEMORY: i64 = 64 << 20;
/// JetStream file storage of a unit or organization account, bytes (1 GiB). nats-server
/// refuses JetStream to an account whose reservation no longer fits its own limits, so the sum
/// over all accounts must fit the server's disk: 1 GiB per unit keeps a small server usable.
pub const JETSTREAM_DISK: i64 = 1 << 30;

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

/// Keys, JWTs and seeds made during one command; everything it stores goes into [`Extras`],
/// so it commits with the events or not at all. Making keys and signing JWTs needs no master
/// key; only sealing the new seeds does, and [`Mint::finish`] does that last (a bootstrap mints
/// while the KDF is still running).
struct Mint {
    iat: i64,
    extras: Extras,
    /// Seeds of the keys made since the last [`Mint::finish`], not sealed yet.
    seeds: Vec<NewSeed>,
    /// Signing keys unsealed or created in this command, by public key.
    signers: BTreeMap<String, NatsKeyPair>,
}

/// A new key's seed, waiting for the master key: its keystore id (the public key) and kind.
/// (On the heap, so that the seeds move with the list without leaving copies behind when it
/// grows; it is zeroized when dropped.)
struct NewSeed {
    id: String,
    kind: &'static str,
    seed: SecretBytes,
}

impl Mint {
    fn new() -> Self {
        Self { iat: unix_now(), extras: Extras::default(), seeds: Vec::new(), signers: BTreeMap::new() }
    }

    /// A fresh key pair; its seed is sealed by [`Mint::finish`].
    fn key(&mut self, kind: NKeyKind) -> Result<NatsKeyPair, AppError> {
        let seed = Zeroizing::new(random::<32>()?);
        let pair = NatsKeyPair::from_raw_seed(kind, &seed).map_err(nats_invalid)?;
        let seed_kind = match kind {
            NKeyKind::Operator => OPERATOR_SEED_KIND,
            NKeyKind::Account => ACCOUNT_SEED_KIND,
            _ => USER_SEED_KIND,
        };
        self.seeds.push(NewSeed {
            id: pair.public_key().to_owned(),
            kind: seed_kind,
            seed: SecretBytes::new(seed.to_vec()),
        });
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
    /// command) and stores the token as an artifact block; returns the block's CID.
    fn sign<T: NatsClaim>(&mut self, claims: Claims<T>, signer: &str) -> Result<String, AppError> {
        let pair = self.signers.get(signer).ok_or_else(|| corrupt(format!("signing key {signer} is not unsealed")))?;
        let jwt = nats::encode(claims, pair, self.iat).map_err(nats_invalid)?;
        Ok(Self::store_jwt(&mut self.extras, jwt))
    }

    /// Signs claims with a key that is not one of the signing keys (the operator's identity).
    fn sign_with<T: NatsClaim>(&mut self, claims: Claims<T>, pair: &NatsKeyPair) -> Result<String, AppError> {
        let jwt = nats::encode(claims, pair, self.iat).map_err(nats_invalid)?;
        Ok(Self::store_jwt(&mut self.extras, jwt))
    }

    fn store_jwt<T: NatsClaim>(extras: &mut Extras, jwt: Jwt<T>) -> String {
        let (token, _) = jwt.into_parts();
        let cid = raw_cid_of(token.as_bytes());
        extras.artifacts.push((cid, JWT_MEDIA_TYPE, token.into_bytes()));
        cid.to_string()
    }

    /// Seals the new seeds under the master key and hands over everything made so far.
    fn finish(&mut self, master: &MasterKey) -> Result<Extras, AppError> {
        let mut extras = std::mem::take(&mut self.extras);
        extras.secrets.reserve(self.seeds.len());
        for new in self.seeds.drain(..) {
            let sealed = keystore::seal(master, &new.id, new.kind, &new.seed, random()?);
            extras.secrets.push((new.id, new.kind, sealed));
        }
        Ok(extras)
    }
}

/// Users minted per batch during a bootstrap. The first batches are smaller (32, 64, 128), so
/// that recording starts sooner.
const USER_BATCH: usize = 256;
const FIRST_USER_BATCH: usize = 32;

/// What a bootstrap's minting thread needs: the people (id, e-mail, earliest unit), the
/// accounts that issue their users by unit, and the mint holding the member keys and the
/// seeds made so far.
struct UserPlan {
    people: Vec<(PersonId, String, Option<String>)>,
    accounts: BTreeMap<Option<String>, AccountForUsers>,
    mint: Mint,
}

/// The minting thread of a bootstrap: mints the plan's users and sends them in batches. The
/// seeds wait in the mint until the master key comes from the unlocking thread; from then on
/// each batch carries every seed made so far, sealed, and the last one is sent only once they
/// all are. Stops after sending an error (a wrong passphrase is one), or when nobody listens.
fn mint_users(
    plan: UserPlan,
    master: &mpsc::Receiver<Result<MasterKey, AppError>>,
    batches: &mpsc::SyncSender<Result<(Vec<Command>, Extras), AppError>>,
) {
    let UserPlan { people, accounts, mut mint } = plan;
    let mut key = None;
    let (mut start, mut size) = (0, FIRST_USER_BATCH);
    loop {
        let end = people.len().min(start + size);
        let last = end == people.len();
        let batch = people[start..end]
            .iter()
            .map(|(person, email, unit)| {
                let account = accounts
                    .get(unit)
                    .ok_or_else(|| corrupt(format!("person {person} is in a unit without an account")))?;
                mint_user(&mut mint, account, *person, email)
            })
            .collect::<Result<Vec<_>, AppError>>()
            .and_then(|commands| {
                if key.is_none() {
                    // Before the last batch, only look; for it, wait: every seed must be sealed.
                    let unlocked = if last { master.recv().ok() } else { master.try_recv().ok() };
                    key = unlocked.transpose()?;
                }
                let extras = match &key {
                    Some(key) => mint.finish(key)?,
                    None if last => return Err(AppError::Invalid("the keystore was not unlocked".into())),
                    None => std::mem::take(&mut mint.extras),
                };
                Ok((commands, extras))
            });
        let failed = batch.is_err();
        if batches.send(batch).is_err() || failed || last {
            return;
        }
        (start, size) = (end, (size * 2).min(USER_BATCH));
    }
}

/// A new user's command, issued by the account's scoped member key.
fn mint_user(mint: &mut Mint, account: &AccountForUsers, person: PersonId, name: &str) -> Result<Command, AppError> {
    let pair = mint.key(NKeyKind::User)?;
    let claims = Claims::new(name, pair.public_key(), User::scoped(account.public_key.clone()));
    let jwt = mint.sign(claims, &account.member_key)?;
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
    pub(super) fn stored_jwt(&self, cid_text: &str) -> Result<String, AppError> {
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
    ///
    /// Nothing but sealing the new seeds needs the master key, so the KDF (the one unlock) runs
    /// on a thread of its own from the start, while this thread reads the organization and
    /// makes the operator's and the accounts' keys and JWTs. Then a second thread mints the
    /// users in batches (key, signed JWT; seeds sealed as soon as the master key is there)
    /// while this one decides and records them, and the events are lifted on a third
    /// (`Vault::run_batches`). Everything commits in one transaction, or nothing does: a
    /// wrong passphrase reaches it as an error before the last batch, and rolls it back.
    pub fn nats_bootstrap(&mut self, org: OrgId, passphrase: &Passphrase) -> Result<BootstrapReport, AppError> {
        let name = self.org_name(org)?;
        if self.store.nats_operator(&org.to_string())?.is_some() {
            return Err(rejected(DomainError::NatsBootstrapped(org)));
        }
        let keystore = self.store.keystore()?.ok_or(AppError::NoKeystore)?;
        std::thread::scope(|scope| {
            let (unlocked, master) = mpsc::channel();
            scope.spawn(move || {
                // Nobody listens any more if this thread failed first.
                let _ = unlocked.send(super::unlock_keystore(&keystore, passphrase));
            });

            let (units, members) = self.store.nats_members(&org.to_string())?;
            let mut mint = Mint::new();
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
            let jwt = mint.sign_with(Claims::new(name.clone(), identity.public_key(), claims), &identity)?;
            commands.push(Command::CreateNatsOperator {
                id: operator_id,
                org,
                name: name.clone(),
                public_key: identity.public_key().to_owned(),
                signing_keys: vec![operator_signer.clone()],
                system_account: system.public_key().to_owned(),
                jwt,
            });
            let system = AccountSpec::System(Box::new(system));
            commands.push(self.new_account(&mut mint, org, &operator_signer, system)?.0);
            let (command, org_account) =
                self.new_account(&mut mint, org, &operator_signer, AccountSpec::Organization(&name))?;
            commands.push(command);
            let mut accounts: BTreeMap<Option<String>, AccountForUsers> = BTreeMap::new();
            let org_account =
                org_account.ok_or_else(|| corrupt("the organization account has no member key".into()))?;
            accounts.insert(None, org_account);
            for unit in &units {
                let unit_id: UnitId = unit.id.parse()?;
                let (command, account) =
                    self.new_account(&mut mint, org, &operator_signer, AccountSpec::Unit(unit_id, &unit.name))?;
                commands.push(command);
                let account =
                    account.ok_or_else(|| corrupt(format!("unit {}'s account has no member key", unit.id)))?;
                accounts.insert(Some(unit.id.clone()), account);
            }
            let account_count = accounts.len() + 1;
            let users = members.len();
            let people = members
                .into_iter()
                .map(|p| Ok((p.id.parse::<PersonId>()?, p.email, p.first_unit)))
                .collect::<Result<Vec<_>, AppError>>()?;
            let total = commands.len() + users;
            let first = (commands, std::mem::take(&mut mint.extras));
            // The seeds made so far (sealed with the users') and the member keys go along.
            let plan = UserPlan { people, accounts, mint };
            let (sender, receiver) = mpsc::sync_channel(4);
            scope.spawn(move || mint_users(plan, &master, &sender));
            let batches = std::iter::once(Ok(first)).chain(receiver);
            let receipt = self.run_batches(batches, total, &mut |_, _| {}).map_err(single)?;
            Ok(BootstrapReport {
                operator: operator_id,
                operator_key: identity.public_key().to_owned(),
                accounts: account_count,
                users,
                receipt,
            })
        })
    }

    /// A new account's command (its seeds and JWT kept in `mint`), and for a
    /// non-system account what is needed to issue its users.
    fn new_account(
        &self,
        mint: &mut Mint,
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
        let jwt = mint.sign(Claims::new(name.clone(), public_key.clone(), claims), operator_signer)?;
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
        let mut mint = Mint::new();
        let mut extra = Vec::new();
        let mut accounts: BTreeMap<(OrgId, Option<String>), AccountForUsers> = BTreeMap::new();
        for command in &commands {
            match command {
                Command::CreateUnit { id, org, name, .. } => {
                    let Some(operator) = self.store.nats_operator(&org.to_string())? else { continue };
                    let signer = self.operator_signer(&mut mint, &master, &operator)?;
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
                        let account = self.account_for_users(&mut mint, &master, *org, first.as_deref())?;
                        accounts.insert(key.clone(), account);
                    }
                    extra.push(mint_user(&mut mint, &accounts[&key], *id, email.trim())?);
                }
                _ => {}
            }
        }
        let mut all = commands;
        all.extend(extra);
        let extras = mint.finish(&master)?;
        self.run(all, extras, progress)
    }

    /// The organization's current operator signing key, unsealed into `mint`.
    fn operator_signer(
        &self,
        mint: &mut Mint,
        master: &MasterKey,
        operator: &NatsOperatorRow,
    ) -> Result<String, AppError> {
        let signer = operator
            .signing_keys
            .first()
            .cloned()
            .ok_or_else(|| corrupt(format!("operator {} has no signing key", operator.id)))?;
        if !mint.signers.contains_key(&signer) {
            let pair = self.unseal_nats(master, &signer, NKeyKind::Operator)?;
            mint.signers.insert(signer.clone(), pair);
        }
        Ok(signer)
    }

    /// An existing account's user-issuing facts, its member key unsealed into `mint`. `unit`
    /// none is the organization account. A unit without an account (impossible through this
    /// application) is reported as corruption.
    fn account_for_users(
        &self,
        mint: &mut Mint,
        master: &MasterKey,
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
            let pair = self.unseal_nats(master, &member, NKeyKind::Account)?;
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
        let mut mint = Mint::new();
        let signer = self.operator_signer(&mut mint, &master, &operator)?;
        let (_, mut claims) = self.decode_stored::<Account>(&account.jwt)?.into_parts();
        claims.nats.revoke(row.public_key.clone(), mint.iat);
        let account_jwt = mint.sign(claims, &signer)?;
        let command = Command::RevokeNatsUser { user, revoked_at: mint.iat, account_jwt };
        let extras = mint.finish(&master)?;
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
        let mut mint = Mint::new();
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
                let jwt = mint.sign_with(claims, &identity)?;
                reissued.push(reissued_jwt("operator", &operator.id, &operator.name, &operator.public_key, jwt));
                for account in self.store.nats_accounts(&org.to_string())? {
                    let decoded = self.decode_stored::<Account>(&account.jwt)?;
                    if decoded.issuer() != key {
                        continue;
                    }
                    let (_, claims) = decoded.into_parts();
                    let jwt = mint.sign(claims, &new_key)?;
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
                let operator_signer = self.operator_signer(&mut mint, &master, &operator)?;
                let (_, mut claims) = self.decode_stored::<Account>(&account.jwt)?.into_parts();
                for k in &mut claims.nats.signing_keys {
                    match k {
                        SigningKey::Plain(p) if p == key => p.clone_from(&new_key),
                        SigningKey::Scoped(scope) if scope.key == key => scope.key.clone_from(&new_key),
                        _ => {}
                    }
                }
                let jwt = mint.sign(claims, &operator_signer)?;
                reissued.push(reissued_jwt("account", &account.id, &account.name, &account.public_key, jwt));
                for user in self.store.nats_users_signed_by(key)? {
                    if user.revoked_at.is_some() {
                        skipped_revoked.push(user.id);
                        continue;
                    }
                    let (_, claims) = self.decode_stored::<User>(&user.jwt)?.into_parts();
                    let jwt = mint.sign(claims, &new_key)?;
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
        let extras = mint.finish(&master)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan of `people` users in one account, its member key made by the plan's mint.
    fn plan(people: usize) -> UserPlan {
        let mut mint = Mint::new();
        let member_key = mint.signing_key(NKeyKind::Account).unwrap();
        let identity = mint.key(NKeyKind::Account).unwrap();
        let account = AccountForUsers {
            id: AccountId::from_uuid(super::super::new_id()),
            public_key: identity.public_key().to_owned(),
            member_key,
        };
        let people = (0..people)
            .map(|i| (PersonId::from_uuid(super::super::new_id()), format!("p{i}@x.example"), None))
            .collect();
        UserPlan { people, accounts: BTreeMap::from([(None, account)]), mint }
    }

    /// Users are minted before the master key is known; their seeds wait unsealed and go out,
    /// sealed, with the first batch after it arrives (all of them, by the last batch at the
    /// latest), each under its public key and kind, opening to that very key.
    #[test]
    fn seeds_minted_before_the_unlock_are_sealed_once_it_is_done() {
        let master = MasterKey::from_bytes([7; 32]);
        let (unlocked, unlock) = mpsc::channel();
        let (sender, batches) = mpsc::sync_channel(16);
        let plan = plan(FIRST_USER_BATCH + USER_BATCH + 5);
        let (users, keys) = (plan.people.len(), plan.people.len() + 2);
        std::thread::scope(|scope| {
            scope.spawn(move || mint_users(plan, &unlock, &sender));
            let (first, extras) = batches.recv().unwrap().unwrap();
            assert_eq!(
                (first.len(), extras.secrets.len(), extras.artifacts.len()),
                (FIRST_USER_BATCH, 0, FIRST_USER_BATCH)
            );
            unlocked.send(Ok(MasterKey::from_bytes([7; 32]))).unwrap();
            let mut commands = first.len();
            let mut secrets = Vec::new();
            for batch in batches {
                let (batch, extras) = batch.unwrap();
                commands += batch.len();
                secrets.extend(extras.secrets);
            }
            assert_eq!((commands, secrets.len()), (users, keys));
            for (id, kind, sealed) in &secrets {
                let seed = keystore::open(&master, id, kind, sealed).unwrap();
                let seed: [u8; 32] = seed.expose_secret().try_into().unwrap();
                let kind = if *kind == USER_SEED_KIND { NKeyKind::User } else { NKeyKind::Account };
                assert_eq!(NatsKeyPair::from_raw_seed(kind, &seed).unwrap().public_key(), id);
            }
        });
    }

    /// A failed unlock reaches the recording thread as an error in place of a batch.
    #[test]
    fn a_failed_unlock_ends_the_batches_with_its_error() {
        let (unlocked, unlock) = mpsc::channel();
        let (sender, batches) = mpsc::sync_channel(16);
        unlocked.send(Err(AppError::Keystore(keystore::KeystoreError::WrongPassphrase))).unwrap();
        std::thread::scope(|scope| {
            scope.spawn(move || mint_users(plan(FIRST_USER_BATCH + 3), &unlock, &sender));
            let received: Vec<_> = batches.into_iter().collect();
            assert!(matches!(received.last(), Some(Err(AppError::Keystore(keystore::KeystoreError::WrongPassphrase)))));
            assert!(received.iter().all(|b| b.as_ref().map_or(true, |(_, extras)| extras.secrets.is_empty())));
        });
    }
}

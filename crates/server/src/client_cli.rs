//! `latchkey client create|list|update|delete|rotate-secret`: the OAuth
//! clients, managed as the command-line operator (audit events say `via:
//! command_line`). A secret is printed once, when it is made.

use clap::Subcommand;
use latchkey_core::admin::Actor;
use latchkey_core::oauth::{
    AuthMethod, ClientPatch, ClientSettings, ClientType, GrantType, IdTokenAlg, Jwks, NewClient,
    OAuthClient,
};
use latchkey_core::services::Services;

use crate::start::StartError;

/// The `client` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and, for a confidential client, its
    /// secret (shown once). Without --grant: authorization_code (and
    /// refresh_token) when a redirect URI is given, else client_credentials.
    Create {
        /// A name for people (shown on the consent page).
        #[arg(long)]
        name: String,
        /// An exact redirect URI (repeatable).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// An exact post-logout redirect URI (repeatable).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (browser or native app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// A grant it may use (repeatable): authorization_code, refresh_token, client_credentials.
        #[arg(long = "grant", value_name = "GRANT")]
        grants: Vec<String>,
        /// A scope it may be granted (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// First-party: no consent page, not bound by scope limits.
        #[arg(long)]
        first_party: bool,
        /// Require PKCE of a confidential client too.
        #[arg(long)]
        require_pkce: bool,
        /// client_secret_basic (default), client_secret_post, or
        /// private_key_jwt (with --jwks-file or --jwks-uri; no secret).
        #[arg(long, value_name = "METHOD")]
        auth_method: Option<String>,
        /// The keys of a private_key_jwt client.
        #[command(flatten)]
        keys: KeyArgs,
        /// The ID-token algorithm: RS256 (default), ES256, EdDSA.
        #[arg(long, value_name = "ALG")]
        id_token_alg: Option<String>,
        /// A resource server: may read the revocation stream (every user's session ends).
        #[arg(long)]
        events: bool,
    },
    /// List the clients.
    List,
    /// Change a client; each given option replaces that setting.
    Update {
        /// The client id.
        id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// The redirect URIs (repeatable; replaces the list).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// The post-logout redirect URIs (repeatable; replaces the list).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// The grants (repeatable; replaces the list).
        #[arg(long = "grant", value_name = "GRANT")]
        grants: Vec<String>,
        /// The scopes (repeatable; replaces the list).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// First-party or not.
        #[arg(long, value_name = "BOOL")]
        first_party: Option<bool>,
        /// The ID-token algorithm.
        #[arg(long, value_name = "ALG")]
        id_token_alg: Option<String>,
        /// May read the revocation stream or not.
        #[arg(long, value_name = "BOOL")]
        events: Option<bool>,
        /// The token-endpoint authentication (confidential clients).
        #[arg(long, value_name = "METHOD")]
        auth_method: Option<String>,
        /// The keys of a private_key_jwt client.
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Delete a client.
    Delete {
        /// The client id.
        id: String,
    },
    /// Replace a confidential client's secret; prints the new one (shown once).
    RotateSecret {
        /// The client id.
        id: String,
    },
}

/// The keys of a `private_key_jwt` client.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// private_key_jwt: a JSON file with the client's public JWK set.
    #[arg(long, value_name = "FILE")]
    jwks_file: Option<std::path::PathBuf>,
    /// private_key_jwt: where the client publishes its JWK set.
    #[arg(long, value_name = "URI")]
    jwks_uri: Option<String>,
}

fn bad(what: &str, value: &str, choices: &str) -> StartError {
    StartError(format!("unknown {what} {value:?}: use one of {choices}"))
}

fn grants(values: &[String]) -> Result<Vec<GrantType>, StartError> {
    values
        .iter()
        .map(|g| {
            GrantType::parse(g).ok_or_else(|| {
                bad(
                    "grant",
                    g,
                    "authorization_code, refresh_token, client_credentials",
                )
            })
        })
        .collect()
}

fn alg(value: Option<&str>) -> Result<Option<IdTokenAlg>, StartError> {
    value
        .map(|a| IdTokenAlg::parse(a).ok_or_else(|| bad("algorithm", a, "RS256, ES256, EdDSA")))
        .transpose()
}

fn auth_method(value: &str) -> Result<AuthMethod, StartError> {
    AuthMethod::parse(value).ok_or_else(|| {
        bad(
            "authentication method",
            value,
            "client_secret_basic, client_secret_post, private_key_jwt",
        )
    })
}

/// The JWK set in `path`, if given.
fn jwks(path: Option<&std::path::Path>) -> Result<Option<Jwks>, StartError> {
    path.map(|p| {
        let text = std::fs::read_to_string(p)
            .map_err(|e| StartError(format!("cannot read {}: {e}", p.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| StartError(format!("{} is not a JWK set: {e}", p.display())))
    })
    .transpose()
}

fn describe(c: &OAuthClient) -> String {
    let s = &c.settings;
    let grants: Vec<&str> = s.grant_types.iter().map(|g| g.as_str()).collect();
    format!(
        "{}  {}  {}{}{}  grants [{}]  scopes [{}]  redirect [{}]  created {}",
        c.client.id,
        c.client.name,
        s.client_type.as_str(),
        if s.first_party { " first-party" } else { "" },
        if s.events { " events" } else { "" },
        grants.join(" "),
        s.scopes.join(" "),
        s.redirect_uris.join(" "),
        c.client.created_at
    )
}

/// Runs one `client` subcommand.
pub async fn run(auth: &Services, cmd: ClientCommand) -> Result<(), StartError> {
    let actor = Actor::command_line();
    let oauth = auth.oauth();
    let failed = |what: &str| {
        let what = what.to_owned();
        move |e| StartError(format!("cannot {what} the client: {e}"))
    };
    match cmd {
        ClientCommand::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            grants: grant_names,
            scopes,
            first_party,
            require_pkce,
            auth_method: method,
            keys,
            id_token_alg,
            events,
        } => {
            let client_type = if public {
                ClientType::Public
            } else {
                ClientType::Confidential
            };
            let grant_types = match (grant_names.is_empty(), redirect_uris.is_empty(), public) {
                (false, _, _) => grants(&grant_names)?,
                (true, false, _) => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                (true, true, false) => vec![GrantType::ClientCredentials],
                (true, true, true) => Vec::new(),
            };
            let token_endpoint_auth_method = match (method.as_deref(), public) {
                (Some(m), _) => auth_method(m)?,
                (None, true) => AuthMethod::None,
                (None, false) => AuthMethod::ClientSecretBasic,
            };
            let settings = ClientSettings {
                client_type,
                token_endpoint_auth_method,
                redirect_uris,
                post_logout_redirect_uris,
                grant_types,
                scopes,
                first_party,
                require_pkce,
                id_token_signed_response_alg: alg(id_token_alg.as_deref())?.unwrap_or_default(),
                events,
                jwks: jwks(keys.jwks_file.as_deref())?,
                jwks_uri: keys.jwks_uri,
                ..ClientSettings::default()
            };
            let (client, secret) = oauth
                .create_client(&actor, NewClient { name, settings })
                .await
                .map_err(failed("create"))?;
            println!("client_id:     {}", client.client.id);
            match secret {
                Some(secret) => {
                    println!("client_secret: {secret}");
                    println!("(the secret is shown only now; latchkey keeps only its hash)");
                }
                None if public => println!("(a public client: no secret; PKCE is required)"),
                None => println!("(private_key_jwt: no secret; it signs with its registered key)"),
            }
        }
        ClientCommand::List => {
            for c in oauth.clients(&actor).await.map_err(failed("list"))? {
                println!("{}", describe(&c));
            }
        }
        ClientCommand::Update {
            id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            grants: grant_names,
            scopes,
            first_party,
            id_token_alg,
            events,
            auth_method: method,
            keys,
        } => {
            let given = |v: Vec<String>| (!v.is_empty()).then_some(v);
            let patch = ClientPatch {
                name,
                redirect_uris: given(redirect_uris),
                post_logout_redirect_uris: given(post_logout_redirect_uris),
                grant_types: given(grant_names).as_deref().map(grants).transpose()?,
                scopes: given(scopes),
                first_party,
                id_token_signed_response_alg: alg(id_token_alg.as_deref())?,
                events,
                token_endpoint_auth_method: method.as_deref().map(auth_method).transpose()?,
                jwks: jwks(keys.jwks_file.as_deref())?.map(Some),
                jwks_uri: keys.jwks_uri.map(Some),
                ..ClientPatch::default()
            };
            let client = oauth
                .update_client(&actor, &id, patch)
                .await
                .map_err(failed("update"))?;
            println!("{}", describe(&client));
        }
        ClientCommand::Delete { id } => {
            oauth
                .delete_client(&actor, &id)
                .await
                .map_err(failed("delete"))?;
            println!("deleted {id}");
        }
        ClientCommand::RotateSecret { id } => {
            let secret = oauth
                .rotate_secret(&actor, &id)
                .await
                .map_err(failed("rotate the secret of"))?;
            println!("client_id:     {id}");
            println!("client_secret: {secret}");
            println!("(the old secret no longer works; the new one is shown only now)");
        }
    }
    Ok(())
}

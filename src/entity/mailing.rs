//! Notifications by email, for whoever asked for a kind of notification to reach them there
//! too. The mail is written when it is sent, in its reader's language, and only if they may
//! still open what it is about: nobody learns of a record outside their scope by email either.
//! The delivery loop runs beside the server, sends what `org::mail` queued, and wakes at each
//! commit to the queue (and every half minute, for the retries).

use super::notifications::{item, readable, COLUMNS};
use crate::access::Rights;
use crate::db::Cached;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::i18n::Lang;
use crate::org::mail::{self, MailSettings, Outgoing};
use crate::time::now_ms;
use actix_web::web;
use futures_util::future::{select, Either};
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// How often the loop looks at the queue when no commit wakes it (retries fall due).
const POLL: Duration = Duration::from_secs(30);
/// The most mails one round sends.
const BATCH: i64 = 50;
const SUBJECT_CHARS: usize = 80;

/// Whether `user` has an address, mail is set up, and they want `kind` by email.
pub fn wants_email(conn: &Connection, user: i64, kind: &str) -> Result<bool, AppError> {
    let wants: bool = conn
        .one(
            "SELECT email IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(email_kinds) WHERE value = ?2)
             FROM users WHERE id = ?1",
            rusqlite::params![user, kind],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false);
    Ok(wants && MailSettings::load(conn)?.is_some())
}

/// What one queued mail becomes: sent to an address, or left unsent for a reason.
enum Composed {
    Mail {
        to: String,
        name: String,
        subject: String,
        body: String,
    },
    Drop(&'static str),
}

fn compose(conn: &Connection, state: &AppState, mail: &Outgoing) -> Result<Composed, AppError> {
    let Some(user) = mail.user_id else {
        return Ok(Composed::Drop("no_recipient"));
    };
    let reader: Option<(Option<String>, String, Option<String>, bool)> = conn
        .one(
            "SELECT email, display_name, language, frozen FROM users WHERE id = ?1",
            [user],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((Some(to), name, language, false)) = reader else {
        return Ok(Composed::Drop("no_address"));
    };
    let lang = language
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(state.default_lang);
    let (subject, body) = match (mail.notification_id, &mail.subject, &mail.body) {
        (Some(notification), _, _) => {
            let rights = Rights::load(conn, user)?;
            let found: Option<Value> = conn
                .one(
                    &format!(
                        "SELECT {COLUMNS} FROM notifications n WHERE n.id = ?1 AND {}",
                        readable(&rights)
                    ),
                    [notification],
                    |r| item(r, state, lang),
                )
                .optional()?;
            let Some(found) = found else {
                return Ok(Composed::Drop("out_of_scope"));
            };
            let message = found["message"].as_str().unwrap_or_default().to_string();
            let subject = super::comments::excerpt_of(&message, SUBJECT_CHARS);
            let hint = state
                .i18n
                .text(lang, "mail.notification_footer", &Value::Null);
            (subject, format!("{message}\n\n{hint}"))
        }
        (None, Some(subject), Some(body)) => (subject.clone(), body.clone()),
        _ => return Ok(Composed::Drop("empty")),
    };
    let company = state.i18n.text(lang, "app.name", &Value::Null);
    Ok(Composed::Mail {
        to,
        name,
        subject: format!("[{company}] {subject}"),
        body,
    })
}

/// Sends what is due now; answers how many mails went out.
pub async fn deliver_due(state: &web::Data<AppState>) -> Result<usize, AppError> {
    let shared = state.clone();
    let (settings, composed) = state
        .db
        .read(move |conn| {
            let Some(settings) = MailSettings::load(conn)? else {
                return Ok((None, Vec::new()));
            };
            let mut composed = Vec::new();
            for mail in mail::due(conn, now_ms(), BATCH)? {
                let letter = compose(conn, &shared, &mail)?;
                composed.push((mail, letter));
            }
            Ok((Some(settings), composed))
        })
        .await?;
    let Some(settings) = settings else {
        return Ok(0);
    };
    let data_dir: PathBuf = state.config.data_dir().to_path_buf();
    let mut sent = 0;
    for (mail, letter) in composed {
        let outcome = match letter {
            Composed::Drop(reason) => Outcome::Dropped(reason),
            Composed::Mail {
                to,
                name,
                subject,
                body,
            } => {
                let settings = settings.clone();
                let data_dir = data_dir.clone();
                let result = web::block(move || {
                    mail::send(&settings, &data_dir, (&to, &name), &subject, &body)
                })
                .await
                .map_err(AppError::internal)?;
                match result {
                    Ok(()) => Outcome::Sent,
                    Err(error) => {
                        tracing::warn!(%error, mail = mail.id, "a mail was not sent; it will be tried again");
                        Outcome::Failed(error)
                    }
                }
            }
        };
        if matches!(outcome, Outcome::Sent) {
            sent += 1;
        }
        state
            .db
            .write(move |tx| {
                match outcome {
                    Outcome::Sent => mail::delivered(tx, mail.id)?,
                    Outcome::Failed(error) => mail::attempt_failed(tx, &mail, &error, now_ms())?,
                    Outcome::Dropped(reason) => mail::dropped(tx, mail.id, reason)?,
                }
                Ok(())
            })
            .await?;
    }
    Ok(sent)
}

/// What became of one attempt.
enum Outcome {
    Sent,
    /// The server or the network said no: tried again later.
    Failed(String),
    /// Not to be sent at all (see `Composed::Drop`).
    Dropped(&'static str),
}

/// The delivery loop: until the server stops.
pub async fn deliver_mail(state: web::Data<AppState>) {
    let mut queued = state.db.memo().watch("mail_queue");
    let mut closing = state.closing.subscribe();
    loop {
        if let Err(error) = deliver_due(&state).await {
            tracing::warn!(%error, "could not deliver the mail queue");
        }
        let woken = Box::pin(queued.changed());
        let timer = Box::pin(actix_web::rt::time::sleep(POLL));
        let stopping = Box::pin(closing.changed());
        match select(select(woken, timer), stopping).await {
            Either::Left(_) => {}
            Either::Right(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kinds_people_may_have_emailed_have_messages() {
        let texts: serde_json::Value =
            serde_json::from_str(include_str!("../../assets/i18n/en.json")).unwrap();
        for kind in crate::auth::users::NOTIFICATION_KINDS {
            assert!(texts[format!("notification.{kind}")].is_string(), "{kind}");
        }
    }
}

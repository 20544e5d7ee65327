# Von latchkey versandte E-Mails, auf Deutsch.

mail-common-signature = — { $product }
mail-common-link_hint = Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren Browser:

mail-verify_email-subject = Bestätigen Sie Ihre E-Mail-Adresse für { $product }
mail-verify_email-body = Bitte bestätigen Sie, dass dies Ihre E-Mail-Adresse ist, damit { $product } Sie erreichen kann, wenn es darauf ankommt.
mail-verify_email-action = Meine Adresse bestätigen
mail-verify_email-note = Der Link funktioniert einmal, 24 Stunden lang. Wenn Sie sich nicht bei { $product } registriert haben, ignorieren Sie diese Nachricht.

mail-password_reset-subject = Ihr { $product }-Passwort zurücksetzen
mail-password_reset-body = Jemand, hoffentlich Sie, hat darum gebeten, das Passwort Ihres { $product }-Kontos zurückzusetzen.
mail-password_reset-action = Neues Passwort wählen
mail-password_reset-note = Der Link funktioniert einmal, { $minutes } Minuten lang, und meldet Sie überall ab. Wenn Sie ihn nicht angefordert haben, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.

mail-password_changed-subject = Ihr { $product }-Passwort wurde geändert
mail-password_changed-body =
    Das Passwort Ihres { $product }-Kontos wurde soeben geändert.

    Wenn Sie das waren, ist nichts zu tun. Wenn nicht, setzen Sie Ihr Passwort sofort zurück und prüfen Sie die Sitzungen Ihres Kontos.

mail-email_change-subject = Bestätigen Sie Ihre neue E-Mail-Adresse für { $product }
mail-email_change-body = Sie möchten diese Adresse für Ihr { $product }-Konto verwenden. Bestätigen Sie sie, dann ersetzt sie die alte.
mail-email_change-action = Diese Adresse verwenden
mail-email_change-note = Der Link funktioniert einmal, 24 Stunden lang. Wenn Sie das nicht angefordert haben, ignorieren Sie diese Nachricht.

mail-email_change_notice-subject = Eine Änderung Ihrer { $product }-E-Mail-Adresse wurde angefordert
mail-email_change_notice-body =
    Jemand, der in Ihrem { $product }-Konto angemeldet ist, möchte dessen E-Mail-Adresse in { $new_email } ändern. Die Änderung erfolgt erst, wenn der an diese Adresse gesendete Link verwendet wird.

    Wenn Sie das nicht waren, ändern Sie jetzt Ihr Passwort und melden Sie Ihre anderen Sitzungen ab.

mail-new_sign_in-subject = Neue Anmeldung bei Ihrem { $product }-Konto
mail-new_sign_in-body =
    Bei Ihrem { $product }-Konto hat sich soeben jemand von einem Gerät angemeldet, das wir noch nicht kannten:

    { $device }, IP-Adresse { $ip }, um { $at }.

    Wenn Sie das waren, ist nichts zu tun. Wenn nicht, ändern Sie jetzt Ihr Passwort und beenden Sie diese Sitzung.

mail-sign_up_attempt-subject = Jemand wollte sich mit Ihrer Adresse registrieren
mail-sign_up_attempt-body =
    Jemand hat soeben versucht, mit dieser E-Mail-Adresse ein { $product }-Konto anzulegen. Für sie besteht bereits ein Konto; es wurde also kein neues angelegt und an Ihrem hat sich nichts geändert.

    Wenn Sie das waren, melden Sie sich stattdessen an; falls Sie Ihr Passwort vergessen haben, können Sie es auf der Anmeldeseite zurücksetzen.
mail-sign_up_attempt-note = Wenn Sie das nicht waren, können Sie diese Nachricht ignorieren.

mail-deletion_scheduled-subject = Ihr { $product }-Konto wird gelöscht
mail-deletion_scheduled-body =
    Sie haben die Löschung Ihres { $product }-Kontos beantragt. Sie wurden überall abgemeldet, und Ihre persönlichen Daten werden am { $due } entfernt.

    Doch anders entschieden? Bis dahin können Sie die Löschung abbrechen.
mail-deletion_scheduled-action = Mein Konto behalten
mail-deletion_scheduled-note = Wenn Sie das nicht beantragt haben, brechen Sie die Löschung ab und ändern Sie Ihr Passwort.

mail-mfa_changed-subject = Die Anmeldung in zwei Schritten Ihres { $product }-Kontos wurde geändert
mail-mfa_changed-body =
    { $what }

    Wenn Sie das nicht waren, setzen Sie jetzt Ihr Passwort zurück und wenden Sie sich an Ihre Administration.
mail-mfa_changed-enabled = Die Anmeldung in zwei Schritten ist jetzt eingeschaltet: Bei der Anmeldung bei { $product } wird ein Code aus Ihrer Authenticator-App (oder ein Backup-Code) verlangt.
mail-mfa_changed-disabled = Die Anmeldung in zwei Schritten wurde ausgeschaltet: Bei der Anmeldung bei { $product } wird nur noch Ihr Passwort verlangt.
mail-mfa_changed-reset = Eine Administratorin oder ein Administrator hat den zweiten Faktor Ihres { $product }-Kontos entfernt: Bei der Anmeldung wird nur Ihr Passwort verlangt, bis Sie die Anmeldung in zwei Schritten wieder einrichten.
mail-mfa_changed-regenerated = Ihre Backup-Codes für { $product } wurden ersetzt: Die alten funktionieren nicht mehr.

mail-backup_code_used-subject = Ein Backup-Code Ihres { $product }-Kontos wurde verwendet
mail-backup_code_used-body =
    Soeben wurde einer Ihrer Backup-Codes für { $product } verwendet, um sich anzumelden oder eine Änderung zu bestätigen. Jeder Code funktioniert einmal; es sind noch { $left } übrig.

    Wenn Sie das nicht waren, ändern Sie Ihr Passwort und ersetzen Sie jetzt Ihre Backup-Codes.

mail-backup_codes_low-subject = Nur noch { $left } Backup-Codes für { $product }
mail-backup_codes_low-body =
    Soeben wurde einer Ihrer Backup-Codes für { $product } verwendet. Es sind nur noch { $left } übrig: Erstellen Sie in den Sicherheitseinstellungen Ihres Kontos neue, bevor sie ausgehen.

    Wenn Sie das nicht waren, ändern Sie Ihr Passwort und ersetzen Sie jetzt Ihre Backup-Codes.

mail-magic_link-subject = Ihr Anmeldelink für { $product }
mail-magic_link-body =
    Jemand, hoffentlich Sie, möchte sich mit dieser Adresse bei { $product } anmelden. Öffnen Sie den Link in dem Browser, in dem Sie ihn angefordert haben, und klicken Sie auf der Seite auf die Schaltfläche.

    In einem anderen Browser oder Gerät fragt die Seite nach diesem Code: { $code }
mail-magic_link-action = Anmelden
mail-magic_link-note = Der Link funktioniert einmal, { $minutes } Minuten lang. Wenn Sie ihn nicht angefordert haben, ignorieren Sie diese Nachricht: Ohne den Link kann sich niemand damit anmelden.

mail-email_code-subject = Ihr Anmeldecode für { $product }: { $code }
mail-email_code-body =
    Jemand, hoffentlich Sie, möchte sich mit dieser Adresse bei { $product } anmelden. Ihr Code lautet:

    { $code }
mail-email_code-note = Der Code funktioniert einmal, { $minutes } Minuten lang. Geben Sie ihn niemandem weiter: { $product } wird Sie nie danach fragen. Wenn Sie ihn nicht angefordert haben, ignorieren Sie diese Nachricht.

mail-passkey_added-subject = Ihrem { $product }-Konto wurde ein Passkey hinzugefügt
mail-passkey_added-body =
    Ihrem { $product }-Konto wurde soeben ein Passkey namens „{ $name }“ hinzugefügt. Er meldet ohne Passwort an und zählt als zweiter Faktor.

    Wenn Sie das nicht waren, melden Sie sich an, entfernen Sie ihn aus den Passkeys Ihres Kontos und ändern Sie Ihr Passwort.

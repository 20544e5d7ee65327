# Die gehosteten Seiten, auf Deutsch.

login-title = Anmelden
login-identifier = E-Mail-Adresse oder Benutzername
login-password = Passwort
login-remember = Angemeldet bleiben
login-submit = Anmelden
login-forgot = Passwort vergessen?

forgot-title = Passwort vergessen?
forgot-text = Geben Sie die Adresse Ihres Kontos ein; wir senden Ihnen einen Link, mit dem Sie ein neues Passwort wählen können.
forgot-email = E-Mail-Adresse
forgot-submit = Link senden
forgot-sign_in = Zur Anmeldung
forgot-sent-title = Sehen Sie in Ihr Postfach
forgot-sent-text = Wenn zu dieser Adresse ein Konto besteht, ist ein Link zum Wählen eines neuen Passworts unterwegs. Er funktioniert einmal und nur kurze Zeit.

logout-title = Abmelden
logout-text = In diesem Browser abmelden?
logout-submit = Abmelden
logout-none-title = Sie sind abgemeldet
logout-none-text = In diesem Browser ist niemand angemeldet.

account-title = Ihr Konto
account-profile = Profil
account-email = E-Mail-Adresse
account-username = Benutzername
account-name = Anzeigename
account-sign_out = Abmelden

verify-title = Bestätigen Sie Ihre E-Mail-Adresse
verify-submit = Bestätigen
verify-done-title = E-Mail-Adresse bestätigt
verify-done-text = Danke: Ihre E-Mail-Adresse ist bestätigt. Sie können diese Seite schließen.

reset-title = Neues Passwort wählen
reset-new_password = Neues Passwort
reset-submit = Neues Passwort festlegen
reset-done-title = Passwort geändert
reset-done-text = Ihr Passwort ist gesetzt, und Sie wurden überall abgemeldet. Melden Sie sich mit dem neuen Passwort an.

cancel-title = Konto behalten?
cancel-text = Ihr Konto ist zur Löschung vorgemerkt. Möchten Sie es behalten?
cancel-submit = Mein Konto behalten
cancel-done-title = Ihr Konto bleibt bestehen
cancel-done-text = Die Löschung ist abgebrochen. Melden Sie sich erneut an, um Ihr Konto zu nutzen.

error-back = Zur Anmeldeseite
error-default-title = Etwas ist schiefgegangen
error-default-text = Versuchen Sie es gleich noch einmal.
error-invalid_token-title = Dieser Link funktioniert nicht
error-invalid_token = Er ist unbekannt, abgelaufen, schon benutzt oder durch einen neueren ersetzt. Fordern Sie einen neuen an.
error-email_taken-title = Diese Adresse ist vergeben
error-email_taken = Ein anderes Konto verwendet diese Adresse inzwischen.
error-validation_failed-title = Bitte versuchen Sie es erneut
error-unreadable_form-title = Bitte versuchen Sie es erneut
error-unreadable_form = Das Formular konnte nicht gelesen werden; laden Sie die Seite neu und senden Sie es erneut.
error-csrf_failed-title = Dieses Formular ist abgelaufen
error-csrf_failed = Das Formular wurde von einer anderen Website gesendet oder ist zu alt. Gehen Sie zurück, laden Sie die Seite neu und senden Sie es erneut.
error-rate_limited-title = Zu viele Versuche
error-rate_limited = Zu viele Versuche. Warten Sie einen Moment und versuchen Sie es dann erneut.
error-invalid_credentials = E-Mail-Adresse, Benutzername oder Passwort ist falsch.
error-account_locked = Dieses Konto ist nach zu vielen fehlgeschlagenen Anmeldungen gesperrt. Melden Sie sich von einem Gerät an, das Sie schon benutzt haben, oder setzen Sie Ihr Passwort zurück.
error-account_suspended = Dieses Konto ist gesperrt.
error-account_pending_deletion = Dieses Konto ist zur Löschung vorgemerkt. Mit dem Link aus der erhaltenen E-Mail können Sie es behalten.
error-email_not_verified = Bestätigen Sie zuerst Ihre E-Mail-Adresse mit dem Link, den wir Ihnen geschickt haben.
error-challenge_required = Ihr Browser muss zuerst eine kleine Aufgabe lösen. Senden Sie das Formular erneut; mit JavaScript geschieht das von selbst.
error-challenge_failed = Die Aufgabe wurde nicht gelöst. Senden Sie das Formular erneut.
error-busy = Der Server ist ausgelastet. Versuchen Sie es gleich noch einmal.
error-invalid_email = Das ist keine gültige E-Mail-Adresse.
error-password_too_short = Dieses Passwort ist zu kurz.
error-password_too_long = Dieses Passwort ist zu lang.
error-password_too_common = Dieses Passwort wird zu häufig verwendet; wählen Sie ein anderes.
error-password_breached = Dieses Passwort ist in einem Datenleck aufgetaucht; wählen Sie ein anderes.
error-password_like_identity = Das Passwort darf nicht Ihre E-Mail-Adresse oder Ihr Benutzername sein.
error-password_too_weak = Dieses Passwort ist zu leicht zu erraten; wählen Sie ein längeres.

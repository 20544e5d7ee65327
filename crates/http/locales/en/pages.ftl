# The hosted pages, in English (the reference catalogue: every other
# language has every key here). Keys: <page>-<thing>; error-<code> is the
# text shown for a refusal with that code. Add a key here, in de/ and in fr/
# (the tests name any that is missing or left in English), then use it in a
# template as {{ t("key") }} or {{ t("key", name=value) }} ($name in the text).

login-title = Sign in
login-identifier = Email address or username
login-password = Password
login-remember = Keep me signed in
login-submit = Sign in
login-forgot = Forgot your password?

forgot-title = Forgot your password?
forgot-text = Enter the address of your account; we will mail you a link to choose a new password.
forgot-email = Email address
forgot-submit = Send the link
forgot-sign_in = Sign in
forgot-sent-title = Check your mail
forgot-sent-text = If this address has an account, a link to choose a new password is on its way. It works once, for a short time.

logout-title = Sign out
logout-text = Sign out of this browser?
logout-submit = Sign out
logout-none-title = You are signed out
logout-none-text = This browser is not signed in.

account-title = Your account
account-profile = Profile
account-email = Email address
account-username = Username
account-name = Name
account-sign_out = Sign out

verify-title = Confirm your email address
verify-submit = Confirm
verify-done-title = Email address confirmed
verify-done-text = Thank you: your email address is confirmed. You can close this page.

reset-title = Choose a new password
reset-new_password = New password
reset-submit = Set the new password
reset-done-title = Password changed
reset-done-text = Your password is set, and you have been signed out everywhere. Sign in with the new password.

cancel-title = Keep your account?
cancel-text = Your account is scheduled for deletion. Keep it?
cancel-submit = Keep my account
cancel-done-title = Your account stays
cancel-done-text = The deletion is cancelled. Sign in again to use your account.

error-back = Go to the sign-in page
error-default-title = Something went wrong
error-default-text = Try again in a moment.
error-invalid_token-title = This link does not work
error-invalid_token = It is unknown, expired, already used, or replaced by a newer one. Ask for a new one.
error-email_taken-title = This address is taken
error-email_taken = Another account uses this address now.
error-validation_failed-title = Please try again
error-unreadable_form-title = Please try again
error-unreadable_form = The form could not be read; reload the page and send it again.
error-csrf_failed-title = This form has expired
error-csrf_failed = The form was sent from another site, or it is too old. Go back, reload the page and send it again.
error-rate_limited-title = Too many attempts
error-rate_limited = Too many attempts. Wait a moment, then try again.
error-invalid_credentials = The email address, username or password is wrong.
error-account_locked = This account is locked after too many failed sign-ins. Sign in from a device you used before, or reset your password.
error-account_suspended = This account is suspended.
error-account_pending_deletion = This account is scheduled for deletion. Use the link in the mail you received to keep it.
error-email_not_verified = Confirm your email address with the link we mailed you first.
error-challenge_required = Your browser has to solve a small puzzle first. Send the form again; with JavaScript on, this happens by itself.
error-challenge_failed = The puzzle was not solved. Send the form again.
error-busy = The server is busy. Try again in a moment.
error-invalid_email = This is not a valid email address.
error-password_too_short = This password is too short.
error-password_too_long = This password is too long.
error-password_too_common = This password is too commonly used; choose another.
error-password_breached = This password has appeared in a data breach; choose another.
error-password_like_identity = The password must not be your email address or username.
error-password_too_weak = This password is too easy to guess; choose a longer one.
error-wrong_password = The password is wrong.
error-username_taken = This username is taken; choose another.
error-invalid_username = A username has 3 to 32 characters: letters, digits, '_', '.' or '-', starting with a letter or digit.
error-invalid_name = A name has at most 200 characters and no control characters.
error-not_found-title = Not found
error-not_found = There is nothing here, or it is no longer there.
error-mfa_required = This account uses two-step sign-in: sign in again with your second factor, then try again.

login-register = Create an account

register-title = Create your account
register-email = Email address
register-password = Password
register-password-hint = At least 8 characters; a few unrelated words make a good one.
register-optional = Optional
register-username = Username
register-name = Name
register-submit = Create account
register-have_account = Have an account?
register-sign_in = Sign in

registered-title = Check your mail
registered-text = We sent a link to the address you gave. Open it to confirm the address, then sign in.
registered-taken = If the address already has an account, its owner gets a mail saying so instead.

account-notice-profile_saved = Your profile is saved.
account-notice-email_change_sent = We sent a confirmation link to the new address. Your address changes when you open it; until then it stays as it is.
account-notice-password_changed = Your password is changed, and every other session has ended.
account-notice-session_ended = The session has ended.
account-notice-other_sessions_ended = Every other session has ended.
account-notice-verification_sent = We sent a new confirmation link to your address.
account-failed = Nothing was changed:
account-failed-link = see why below
account-sections = Sections of your account
account-password = Password
account-sessions = Sessions
account-activity = Activity
account-delete = Delete account
account-email-current = Email address:
account-email-confirmed = (confirmed)
account-email-unconfirmed = (not confirmed yet)
account-verify-submit = Send the confirmation link again
account-profile-legend = Name and username
account-profile-submit = Save the profile
account-email-text = We send a link to the new address; the change happens when you open it.
account-email-new = New email address
account-current_password = Current password
account-email-submit = Change the address
account-password-new = New password
account-password-hint = At least 8 characters. Every other session ends when it changes.
account-password-submit = Change the password
account-sessions-text = Where your account is signed in.
account-sessions-unknown_device = Unknown device
account-sessions-this_device = This device
account-sessions-from = From { $ip }
account-sessions-unknown_ip = an unknown address
account-sessions-signed_in = Signed in
account-sessions-last_seen = last seen
account-sessions-end = End this session
account-sessions-end_others = Sign out everywhere else
account-activity-link = Recent security activity
account-delete-title = Delete your account
account-delete-text = Deleting your account signs you out everywhere and stops sign-in at once. Its data is removed after { $days } days; until then, a link we mail to { $email } keeps the account.
account-delete-legend = Confirm with your password
account-delete-submit = Delete my account

deleted-title = Your account will be deleted
deleted-text = Your account is scheduled for deletion, and you are signed out everywhere. Signing in is refused from now on.
deleted-due-before = Its data will be removed on
deleted-due-after = . Until then, the link we mailed to { $email } keeps the account.

activity-title = Recent security activity
activity-back = Back to your account
activity-none = Nothing yet.
activity-older = Older events
activity-by-you = by you
activity-by-administrator = by an administrator
activity-by-unknown = by someone not signed in
activity-this_device = this device
activity-user_registered = Account created
activity-login_succeeded = Signed in
activity-login_failed = Sign-in failed
activity-logout = Signed out
activity-session_revoked = A session was ended
activity-sessions_revoked = Sessions were ended
activity-refresh_token_reused = A reused token ended a session
activity-account_updated = Profile changed
activity-user_updated = Account changed by an administrator
activity-user_suspended = Account suspended
activity-user_unsuspended = Suspension lifted
activity-user_roles_changed = Roles changed
activity-password_changed = Password changed
activity-password_reset_requested = Password reset requested
activity-password_reset_completed = Password reset
activity-email_verified = Email address confirmed
activity-email_change_requested = Email change requested
activity-email_change_confirmed = Email address changed
activity-account_deletion_scheduled = Deletion requested
activity-account_deletion_cancelled = Deletion cancelled
activity-account_deactivated = Account deactivated
activity-account_reactivated = Account reactivated
activity-mfa_enabled = Two-step sign-in turned on
activity-mfa_disabled = Two-step sign-in turned off
activity-mfa_backup_code_used = Backup code used
activity-mfa_backup_codes_regenerated = Backup codes replaced
activity-mfa_reset = Second factor removed by an administrator
activity-mfa_failed = Wrong second-factor code

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

# Mail sent by latchkey, in English (the reference catalogue: every other
# language has every key here). Keys: mail-<template>-<part>; paragraphs of
# a body are separated by a blank line. A template without an action or a
# note has no such key. Variables: $product (the product name), and each
# template's own ($minutes, $new_email, $device, $ip, $at, $due, $what, $left).

mail-common-signature = — { $product }
mail-common-link_hint = If the button does not work, copy this link into your browser:

mail-verify_email-subject = Confirm your email address for { $product }
mail-verify_email-body = Please confirm that this is your email address, so that { $product } can reach you when it matters.
mail-verify_email-action = Confirm my address
mail-verify_email-note = The link works once, for 24 hours. If you did not sign up for { $product }, ignore this message.

mail-password_reset-subject = Reset your { $product } password
mail-password_reset-body = Someone, hopefully you, asked to reset the password of your { $product } account.
mail-password_reset-action = Choose a new password
mail-password_reset-note = The link works once, for { $minutes } minutes, and signs you out everywhere. If you did not ask for it, ignore this message: your password stays as it is.

mail-password_changed-subject = Your { $product } password was changed
mail-password_changed-body =
    The password of your { $product } account was just changed.

    If you did this, there is nothing to do. If you did not, reset your password at once and review your account's sessions.

mail-email_change-subject = Confirm your new email address for { $product }
mail-email_change-body = You asked to use this address for your { $product } account. Confirm it, and it replaces the old one.
mail-email_change-action = Use this address
mail-email_change-note = The link works once, for 24 hours. If you did not ask for this, ignore this message.

mail-email_change_notice-subject = A change of your { $product } email address was requested
mail-email_change_notice-body =
    Someone signed in to your { $product } account asked to change its email address to { $new_email }. The change happens only when the link sent to that address is used.

    If this was not you, change your password now and sign out your other sessions.

mail-new_sign_in-subject = New sign-in to your { $product } account
mail-new_sign_in-body =
    Your { $product } account was just signed in to from a device we had not seen before:

    { $device }, IP address { $ip }, at { $at }.

    If this was you, there is nothing to do. If not, change your password now and sign out that session.

mail-sign_up_attempt-subject = Someone tried to sign up with your address
mail-sign_up_attempt-body =
    Someone just tried to create a { $product } account with this email address. It already has an account, so no new account was made and nothing about yours changed.

    If it was you, sign in instead; if you forgot your password, you can reset it from the sign-in page.
mail-sign_up_attempt-note = If it was not you, you can ignore this message.

mail-deletion_scheduled-subject = Your { $product } account will be deleted
mail-deletion_scheduled-body =
    You asked to delete your { $product } account. You have been signed out everywhere, and your personal data will be removed on { $due }.

    Changed your mind? Until then, you can cancel the deletion.
mail-deletion_scheduled-action = Keep my account
mail-deletion_scheduled-note = If you did not ask for this, cancel the deletion and change your password.

mail-mfa_changed-subject = Two-step sign-in changed on your { $product } account
mail-mfa_changed-body =
    { $what }

    If this was not you, reset your password now and contact your administrator.
mail-mfa_changed-enabled = Two-step sign-in is now on: signing in to { $product } asks for a code from your authenticator app (or a backup code).
mail-mfa_changed-disabled = Two-step sign-in was turned off: signing in to { $product } asks for your password only.
mail-mfa_changed-reset = An administrator removed the second factor of your { $product } account: signing in asks for your password only until you set up two-step sign-in again.
mail-mfa_changed-regenerated = Your { $product } backup codes were replaced: the old ones no longer work.

mail-backup_code_used-subject = A backup code was used on your { $product } account
mail-backup_code_used-body =
    One of your { $product } backup codes was just used to sign in or confirm a change. Each code works once; { $left } are left.

    If this was not you, change your password and replace your backup codes now.

mail-backup_codes_low-subject = Only { $left } { $product } backup codes left
mail-backup_codes_low-body =
    One of your { $product } backup codes was just used. Only { $left } are left: make a new set in your account's security settings before you run out.

    If this was not you, change your password and replace your backup codes now.

mail-magic_link-subject = Your { $product } sign-in link
mail-magic_link-body =
    Someone, hopefully you, asked to sign in to { $product } with this address. Open the link in the browser you asked from and press the button on the page.

    Opened in another browser or device, the page asks for this code: { $code }
mail-magic_link-action = Sign in
mail-magic_link-note = The link works once, for { $minutes } minutes. If you did not ask for it, ignore this message: nobody can sign in with it without the link.

mail-email_code-subject = Your { $product } sign-in code: { $code }
mail-email_code-body =
    Someone, hopefully you, asked to sign in to { $product } with this address. Your code is:

    { $code }
mail-email_code-note = The code works once, for { $minutes } minutes. Never give it to anyone: { $product } will not ask you for it. If you did not ask for it, ignore this message.

mail-passkey_added-subject = A passkey was added to your { $product } account
mail-passkey_added-body =
    A passkey named “{ $name }” was just added to your { $product } account. It signs in without a password, and counts as a second factor.

    If this was not you, sign in, remove it from your account's passkeys, and change your password.

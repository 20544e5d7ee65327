# Les pages hébergées, en français.

login-title = Connexion
login-identifier = Adresse e-mail ou nom d’utilisateur
login-password = Mot de passe
login-remember = Rester connecté
login-submit = Se connecter
login-forgot = Mot de passe oublié ?

forgot-title = Mot de passe oublié ?
forgot-text = Saisissez l’adresse de votre compte ; nous vous enverrons un lien pour choisir un nouveau mot de passe.
forgot-email = Adresse e-mail
forgot-submit = Envoyer le lien
forgot-sign_in = Se connecter
forgot-sent-title = Consultez vos e-mails
forgot-sent-text = Si cette adresse a un compte, un lien pour choisir un nouveau mot de passe est en route. Il ne fonctionne qu’une fois, et peu de temps.

logout-title = Déconnexion
logout-text = Se déconnecter de ce navigateur ?
logout-submit = Se déconnecter
logout-none-title = Vous êtes déconnecté
logout-none-text = Personne n’est connecté dans ce navigateur.

account-title = Votre compte
account-profile = Profil
account-email = Adresse e-mail
account-username = Nom d’utilisateur
account-name = Nom affiché
account-sign_out = Se déconnecter

verify-title = Confirmez votre adresse e-mail
verify-submit = Confirmer
verify-done-title = Adresse e-mail confirmée
verify-done-text = Merci : votre adresse e-mail est confirmée. Vous pouvez fermer cette page.

reset-title = Choisissez un nouveau mot de passe
reset-new_password = Nouveau mot de passe
reset-submit = Enregistrer le nouveau mot de passe
reset-done-title = Mot de passe modifié
reset-done-text = Votre mot de passe est enregistré, et vous avez été déconnecté partout. Connectez-vous avec le nouveau mot de passe.

cancel-title = Garder votre compte ?
cancel-text = La suppression de votre compte est programmée. Voulez-vous le garder ?
cancel-submit = Garder mon compte
cancel-done-title = Votre compte est conservé
cancel-done-text = La suppression est annulée. Reconnectez-vous pour utiliser votre compte.

error-back = Aller à la page de connexion
error-default-title = Un problème est survenu
error-default-text = Réessayez dans un instant.
error-invalid_token-title = Ce lien ne fonctionne pas
error-invalid_token = Il est inconnu, expiré, déjà utilisé ou remplacé par un plus récent. Demandez-en un nouveau.
error-email_taken-title = Cette adresse est déjà prise
error-email_taken = Un autre compte utilise désormais cette adresse.
error-validation_failed-title = Veuillez réessayer
error-unreadable_form-title = Veuillez réessayer
error-unreadable_form = Le formulaire n’a pas pu être lu ; rechargez la page et envoyez-le de nouveau.
error-csrf_failed-title = Ce formulaire a expiré
error-csrf_failed = Le formulaire a été envoyé depuis un autre site, ou il est trop ancien. Revenez en arrière, rechargez la page et envoyez-le de nouveau.
error-rate_limited-title = Trop de tentatives
error-rate_limited = Trop de tentatives. Patientez un instant, puis réessayez.
error-invalid_credentials = L’adresse e-mail, le nom d’utilisateur ou le mot de passe est incorrect.
error-account_locked = Ce compte est bloqué après trop d’échecs de connexion. Connectez-vous depuis un appareil déjà utilisé, ou réinitialisez votre mot de passe.
error-account_suspended = Ce compte est suspendu.
error-account_pending_deletion = La suppression de ce compte est programmée. Utilisez le lien de l’e-mail reçu pour le garder.
error-email_not_verified = Confirmez d’abord votre adresse e-mail avec le lien que nous vous avons envoyé.
error-challenge_required = Votre navigateur doit d’abord résoudre une petite énigme. Envoyez de nouveau le formulaire ; avec JavaScript, cela se fait tout seul.
error-challenge_failed = L’énigme n’a pas été résolue. Envoyez de nouveau le formulaire.
error-busy = Le serveur est surchargé. Réessayez dans un instant.
error-invalid_email = Cette adresse e-mail n’est pas valide.
error-password_too_short = Ce mot de passe est trop court.
error-password_too_long = Ce mot de passe est trop long.
error-password_too_common = Ce mot de passe est trop courant ; choisissez-en un autre.
error-password_breached = Ce mot de passe est apparu dans une fuite de données ; choisissez-en un autre.
error-password_like_identity = Le mot de passe ne doit pas être votre adresse e-mail ni votre nom d’utilisateur.
error-password_too_weak = Ce mot de passe est trop facile à deviner ; choisissez-en un plus long.

# Courriels envoyés par latchkey, en français.

mail-common-signature = — { $product }
mail-common-link_hint = Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :

mail-verify_email-subject = Confirmez votre adresse e-mail pour { $product }
mail-verify_email-body = Merci de confirmer qu’il s’agit bien de votre adresse e-mail, afin que { $product } puisse vous joindre quand c’est important.
mail-verify_email-action = Confirmer mon adresse
mail-verify_email-note = Le lien fonctionne une seule fois, pendant 24 heures. Si vous ne vous êtes pas inscrit à { $product }, ignorez ce message.

mail-password_reset-subject = Réinitialisez votre mot de passe { $product }
mail-password_reset-body = Quelqu’un, vous sans doute, a demandé la réinitialisation du mot de passe de votre compte { $product }.
mail-password_reset-action = Choisir un nouveau mot de passe
mail-password_reset-note = Le lien fonctionne une seule fois, pendant { $minutes } minutes, et vous déconnecte partout. Si vous ne l’avez pas demandé, ignorez ce message : votre mot de passe reste inchangé.

mail-password_changed-subject = Votre mot de passe { $product } a été modifié
mail-password_changed-body =
    Le mot de passe de votre compte { $product } vient d’être modifié.

    Si c’était vous, il n’y a rien à faire. Sinon, réinitialisez immédiatement votre mot de passe et vérifiez les sessions de votre compte.

mail-email_change-subject = Confirmez votre nouvelle adresse e-mail pour { $product }
mail-email_change-body = Vous avez demandé à utiliser cette adresse pour votre compte { $product }. Confirmez-la, et elle remplacera l’ancienne.
mail-email_change-action = Utiliser cette adresse
mail-email_change-note = Le lien fonctionne une seule fois, pendant 24 heures. Si vous n’avez rien demandé, ignorez ce message.

mail-email_change_notice-subject = Une modification de votre adresse e-mail { $product } a été demandée
mail-email_change_notice-body =
    Une personne connectée à votre compte { $product } a demandé à changer son adresse e-mail pour { $new_email }. Le changement n’a lieu que si le lien envoyé à cette adresse est utilisé.

    Si ce n’était pas vous, changez votre mot de passe dès maintenant et déconnectez vos autres sessions.

mail-new_sign_in-subject = Nouvelle connexion à votre compte { $product }
mail-new_sign_in-body =
    Quelqu’un vient de se connecter à votre compte { $product } depuis un appareil que nous ne connaissions pas :

    { $device }, adresse IP { $ip }, le { $at }.

    Si c’était vous, il n’y a rien à faire. Sinon, changez votre mot de passe dès maintenant et fermez cette session.

mail-sign_up_attempt-subject = Quelqu’un a tenté de s’inscrire avec votre adresse
mail-sign_up_attempt-body =
    Quelqu’un vient d’essayer de créer un compte { $product } avec cette adresse e-mail. Elle a déjà un compte : aucun nouveau compte n’a été créé et rien n’a changé pour le vôtre.

    Si c’était vous, connectez-vous plutôt ; si vous avez oublié votre mot de passe, vous pouvez le réinitialiser depuis la page de connexion.
mail-sign_up_attempt-note = Si ce n’était pas vous, vous pouvez ignorer ce message.

mail-deletion_scheduled-subject = Votre compte { $product } va être supprimé
mail-deletion_scheduled-body =
    Vous avez demandé la suppression de votre compte { $product }. Vous avez été déconnecté partout, et vos données personnelles seront effacées le { $due }.

    Vous avez changé d’avis ? D’ici là, vous pouvez annuler la suppression.
mail-deletion_scheduled-action = Garder mon compte
mail-deletion_scheduled-note = Si vous n’avez pas fait cette demande, annulez la suppression et changez votre mot de passe.

mail-mfa_changed-subject = La connexion en deux étapes de votre compte { $product } a changé
mail-mfa_changed-body =
    { $what }

    Si ce n’était pas vous, réinitialisez votre mot de passe maintenant et contactez votre administrateur.
mail-mfa_changed-enabled = La connexion en deux étapes est désormais activée : la connexion à { $product } demande un code de votre application d’authentification (ou un code de secours).
mail-mfa_changed-disabled = La connexion en deux étapes a été désactivée : la connexion à { $product } ne demande plus que votre mot de passe.
mail-mfa_changed-reset = Un administrateur a supprimé le second facteur de votre compte { $product } : la connexion ne demande que votre mot de passe jusqu’à ce que vous configuriez de nouveau la connexion en deux étapes.
mail-mfa_changed-regenerated = Vos codes de secours { $product } ont été remplacés : les anciens ne fonctionnent plus.

mail-backup_code_used-subject = Un code de secours de votre compte { $product } a été utilisé
mail-backup_code_used-body =
    L’un de vos codes de secours { $product } vient d’être utilisé pour vous connecter ou confirmer une modification. Chaque code ne fonctionne qu’une fois ; il en reste { $left }.

    Si ce n’était pas vous, changez votre mot de passe et remplacez vos codes de secours maintenant.

mail-backup_codes_low-subject = Plus que { $left } codes de secours { $product }
mail-backup_codes_low-body =
    L’un de vos codes de secours { $product } vient d’être utilisé. Il n’en reste plus que { $left } : créez-en de nouveaux dans les paramètres de sécurité de votre compte avant d’en manquer.

    Si ce n’était pas vous, changez votre mot de passe et remplacez vos codes de secours maintenant.

mail-magic_link-subject = Votre lien de connexion { $product }
mail-magic_link-body =
    Quelqu’un, vous sans doute, a demandé à se connecter à { $product } avec cette adresse. Ouvrez le lien dans le navigateur depuis lequel vous l’avez demandé et appuyez sur le bouton de la page.

    Ouverte dans un autre navigateur ou appareil, la page demande ce code : { $code }
mail-magic_link-action = Se connecter
mail-magic_link-note = Le lien fonctionne une fois, pendant { $minutes } minutes. Si vous ne l’avez pas demandé, ignorez ce message : personne ne peut se connecter sans le lien.

mail-email_code-subject = Votre code de connexion { $product } : { $code }
mail-email_code-body =
    Quelqu’un, vous sans doute, a demandé à se connecter à { $product } avec cette adresse. Votre code est :

    { $code }
mail-email_code-note = Le code fonctionne une fois, pendant { $minutes } minutes. Ne le donnez à personne : { $product } ne vous le demandera jamais. Si vous ne l’avez pas demandé, ignorez ce message.

mail-passkey_added-subject = Une clé d’accès a été ajoutée à votre compte { $product }
mail-passkey_added-body =
    Une clé d’accès nommée « { $name } » vient d’être ajoutée à votre compte { $product }. Elle permet de se connecter sans mot de passe et compte comme second facteur.

    Si ce n’était pas vous, connectez-vous, retirez-la des clés d’accès de votre compte et changez votre mot de passe.

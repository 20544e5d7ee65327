//! The store conformance suite.
//!
//! Every backend crate runs these cases from its own `tests/conformance.rs`:
//!
//! ```ignore
//! latchkey_store_tests::conformance_suite!(my_backend, my_backend_test_db());
//! ```
//!
//! where the expression is a future giving a fresh, empty, isolated
//! [`TestDb`]. The macro expands into a module named after the backend with
//! one `#[tokio::test]` per case, so the test output names every case for
//! every backend (`sqlite::user_round_trips`, `postgres::user_round_trips`),
//! and a backend cannot skip a case. A case that fails on one backend and passes on
//! the other is a bug in the first backend, never in the suite.

pub mod cases;
mod db;

pub use db::TestDb;

/// Expands into one test per conformance case for the given backend.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:ident, $fresh:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_suite!(@cases $fresh;
            migrate_applies_all_then_nothing,
            concurrent_migrations_are_safe,
            ping_answers,
            user_round_trips,
            email_is_unique_after_normalization,
            username_is_unique_but_optional,
            list_users_pages_in_id_order,
            missing_users_are_none,
            update_user_replaces_the_profile_only,
            update_user_reports_missing_and_conflicts,
            set_password_hash_updates_hash_and_time,
            sessions_round_trip,
            session_with_user_reads_both_in_one_call,
            session_uniqueness_and_atomic_creation,
            active_sessions_exclude_ended_and_others_newest_first,
            touch_session_slides_and_caps_and_ignores_ended,
            revoke_session_reports_whether_it_changed,
            revoke_sessions_of_user_with_and_without_except,
            rotation_happy_path_then_successor_rotates,
            rotation_invalid_cases,
            rotation_grace_retry_then_reuse_ends_the_session,
            rotation_replay_after_the_successor_was_used_ends_the_session,
            concurrent_successor_use_and_ancestor_replays_leave_one_live_pair,
            exchange_issues_from_what_it_read_and_writes_nothing_on_failure,
            concurrent_rotations_one_handle_with_grace,
            concurrent_rotations_many_handles_with_grace,
            concurrent_rotations_one_handle_without_grace,
            concurrent_rotations_many_handles_without_grace,
            deleting_a_user_cascades_to_sessions_and_tokens,
            signing_keys_rotate_conditionally,
            active_signing_kid_follows_rotation,
            concurrent_first_signing_key_is_created_once,
            clients_round_trip_and_conflict,
            roles_round_trip_and_delete_rules,
            role_graph_and_assignments,
            audit_events_query_and_purge,
            suspension_ends_sessions_and_blocks_new_ones,
            admin_writes_are_audited_atomically,
            search_users_by_text_and_role,
            login_failures_compare_and_set,
            concurrent_login_failure_swaps_admit_one,
            purge_login_failures_keeps_locked_and_recent,
            account_tokens_supersede_older_ones_of_the_same_purpose,
            redemption_is_single_use_and_checks_purpose_and_expiry,
            verification_is_void_once_the_address_changed,
            reset_sets_the_password_and_ends_every_session,
            email_change_applies_or_conflicts_without_using_the_token,
            concurrent_redemptions_let_exactly_one_through,
            sweep_leaves_ended_suspensions_inactive_and_on_record,
            deactivation_ends_sessions_and_reactivation_clears_it,
            password_change_keeps_one_session_and_queues_the_notice,
            auth_time_and_devices_are_recorded,
            deletion_is_scheduled_then_leaves_a_tombstone_without_personal_data,
            mail_is_queued_once_and_wiped_when_sent,
            jobs_are_claimed_under_a_lease_and_finished_by_their_holder,
            concurrent_claims_hand_each_job_to_one_worker,
            sweep_removes_what_expired_and_keeps_the_rest,
            sweep_removes_exactly_what_the_plan_says,
            credential_tokens_die_with_every_change_of_address_or_password,
            a_reset_link_for_an_address_the_account_left_is_refused,
            registration_commits_the_user_its_mail_and_its_event_together,
            a_retried_token_mail_finds_the_first_one_and_stores_nothing,
            notices_commit_with_their_change_and_only_with_it,
            totp_enrolment_is_pending_until_confirmed_once,
            totp_steps_are_accepted_once_and_in_order,
            concurrent_uses_of_one_step_or_code_admit_one,
            backup_codes_are_single_use_replaced_and_removed,
            mfa_challenges_count_failures_and_are_used_once,
            concurrent_attempts_at_one_mfa_token_reserve_at_most_the_maximum,
            every_session_end_records_its_event,
            events_resume_in_order_and_are_purged_by_age,
            concurrent_writers_skip_no_event_for_a_polling_reader,
            oauth_clients_round_trip_update_and_delete,
            id_token_keys_rotate_apart_from_access_keys,
            authorization_codes_are_taken_once,
            client_sessions_end_with_their_code_grant_and_browser_session,
            grants_are_remembered_listed_and_revoked_with_their_sessions,
            client_assertion_jtis_are_used_once_until_they_expire,
            password_hashes_are_counted_by_scheme,
            one_imported_hash_per_scheme_is_sampled,
            account_batches_store_each_address_once,
            linked_identities_are_stored_once_per_provider_and_subject,
            account_locale_round_trips,
            passkey_challenges_are_taken_once_until_they_expire,
            passkeys_round_trip_and_count_uses_once,
            passkeys_are_renamed_and_deleted_by_their_owner_only,
            signup_tickets_make_one_account_once,
            a_signup_ticket_for_a_taken_address_makes_nothing,
            identities_link_once_and_keep_the_last_way_in,
            concurrent_unlinks_keep_one_way_in,
            federation_rows_are_taken_once,
            native_nonces_are_taken_once,
            deletion_removes_the_identities,
            upstream_records_replace_tokens_once_per_version,
            passwordless_tokens_supersede_and_are_used_once,
            passwordless_attempts_are_reserved_at_most_five_times,
            concurrent_uses_of_one_passwordless_token_admit_one,
            passwordless_tokens_die_with_every_change_of_address_or_password,
            ways_in_besides_the_password_are_counted_across_slices,
            every_removal_keeps_the_last_way_in,
            concurrent_removals_of_the_last_two_ways_in_admit_one,
            webhook_endpoints_round_trip_update_and_delete,
            webhook_fan_out_moves_the_cursor_once_with_its_jobs,
            webhook_attempts_are_logged_and_decide_the_endpoint,
            webhook_event_types_are_recorded_from_the_audit_log
            );
        }
    };
    (@cases $fresh:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let db = $fresh.await;
                $crate::cases::$case(&db).await;
            }
        )*
    };
}

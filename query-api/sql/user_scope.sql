-- A user's current connectivity and sync scope settings: the latest user-state event.
-- params: tenant_id String = 'acme', user_id String = 'alice'
SELECT
    argMax(mail_system, (occurred_at_ms, event_id)) AS s_mail_system,
    argMax(crm_system, (occurred_at_ms, event_id)) AS s_crm_system,
    argMax(saved_searches_name, (occurred_at_ms, event_id)) AS s_names,
    argMax(saved_searches_object_type, (occurred_at_ms, event_id)) AS s_object_types,
    argMax(saved_searches_conflict_resolution, (occurred_at_ms, event_id)) AS s_conflict_resolutions
FROM user_state_history
WHERE tenant_id = ? AND user_id = ?;

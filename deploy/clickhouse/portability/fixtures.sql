-- Sample rows for the portability check (check.py): a few tenants, users and sessions, with
-- the faults the pipeline must absorb (the same event twice, an end without its start, log
-- chunks out of order), so that the views and examples.sql run on real data and return the
-- same rows on both engines. $ANCHOR_MS is the run's start rounded down to the minute
-- (check.py replaces it); every row sits well inside or well outside the examples' windows.
-- Each INSERT is its own part, so duplicates across INSERTs are not merged: the views must
-- hide them. Every raw row is stamped `ingested_at` = the anchor, not the column's default
-- now(): the two engines load the fixtures a moment apart, and the views that copy
-- `ingested_at` (ingest_touches_*) must give both the same rows.
--
-- Tenants: acme (profiles acme-sales, acme-support), globex (globex-main).
-- Users: alice, bob (acme-sales), carol (acme-support), dave and erin (deleted) (globex-main).

-- Sessions: queued, started and ended rows, in no particular order.
INSERT INTO session_events
    (tenant_id, profile_id, user_id, session_id, event_kind, event_id, occurred_at_ms,
     engine_id, engine_version, trigger, started_at_ms, ended_at_ms, status, scope_items,
     changes, total_changes, failures, issues, conflicts, objects_type, objects_synchronized,
     objects_mail_to_crm_created, objects_mail_to_crm_updated, objects_mail_to_crm_deleted,
     objects_crm_to_mail_created, objects_crm_to_mail_updated, objects_crm_to_mail_deleted,
     error_category, error_source, message, exception, ingested_at)
VALUES
    -- alice: a success two days ago
    ('acme', 'acme-sales', 'alice', 's-a1', 'session_ended', 'e-a1-end', $ANCHOR_MS - 180000000 + 61000,
     'engine-1', '4.2.0', '', $ANCHOR_MS - 180000000, $ANCHOR_MS - 180000000 + 61000, 'Success', 120,
     3, 3, 0, 0, 0, ['Email', 'Contact'], [2, 1], [2, 0], [0, 1], [0, 0], [0, 0], [0, 0], [0, 0],
     '', '', 'Synchronization completed', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'alice', 's-a1', 'session_queued', 'e-a1-queued', $ANCHOR_MS - 180000000 - 2000,
     'engine-1', '4.2.0', '', 0, 0, '', 0, 0, 0, 0, 0, 0, [], [], [], [], [], [], [], [], '', '', '', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'alice', 's-a1', 'session_started', 'e-a1-start', $ANCHOR_MS - 180000000,
     'engine-1', '4.2.0', 'Schedule', $ANCHOR_MS - 180000000, 0, '', 0, 0, 0, 0, 0, 0, [], [], [], [], [], [], [], [], '', '', '', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    -- alice: failed 3 hours ago (its end is delivered twice, see below)
    ('acme', 'acme-sales', 'alice', 's-a2', 'session_started', 'e-a2-start', $ANCHOR_MS - 10800000,
     'engine-1', '4.2.0', 'ForcedByUser', $ANCHOR_MS - 10800000, 0, '', 0, 0, 0, 0, 0, 0, [], [], [], [], [], [], [], [], '', '', '', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'alice', 's-a2', 'session_ended', 'e-a2-end', $ANCHOR_MS - 10800000 + 45000,
     'engine-1', '4.2.0', '', $ANCHOR_MS - 10800000, $ANCHOR_MS - 10800000 + 45000, 'Error', 118,
     0, 3, 2, 2, 0, ['Email'], [0], [0], [0], [0], [0], [0], [0],
     'Authorization', 'Crm', 'Salesforce session expired', 'INVALID_SESSION_ID: Session expired or invalid', toDateTime(intDiv($ANCHOR_MS, 1000))),
    -- alice: started 30 minutes ago, not ended
    ('acme', 'acme-sales', 'alice', 's-a3', 'session_started', 'e-a3-start', $ANCHOR_MS - 1800000,
     'engine-2', '4.3.0', 'Adaptive', $ANCHOR_MS - 1800000, 0, '', 0, 0, 0, 0, 0, 0, [], [], [], [], [], [], [], [], '', '', '', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    -- bob: a success 5 hours ago, then a skipped session (which does not change his outcome)
    ('acme', 'acme-sales', 'bob', 's-b1', 'session_started', 'e-b1-start', $ANCHOR_MS - 18000000,
     'engine-1', '4.2.0', 'Schedule', $ANCHOR_MS - 18000000, 0, '', 0, 0, 0, 0, 0, 0, [], [], [], [], [], [], [], [], '', '', '', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'bob', 's-b1', 'session_ended', 'e-b1-end', $ANCHOR_MS - 18000000 + 90000,
     'engine-1', '4.2.0', '', $ANCHOR_MS - 18000000, $ANCHOR_MS - 18000000 + 90000, 'Success', 400,
     7, 12, 0, 0, 1, ['Email', 'Contact', 'Event'], [4, 2, 1], [3, 0, 0], [0, 1, 0], [0, 0, 0], [0, 1, 1], [0, 1, 0], [0, 0, 0],
     '', '', 'Synchronization completed', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'bob', 's-b2', 'session_ended', 'e-b2-end', $ANCHOR_MS - 7200000 + 1000,
     'engine-1', '4.2.0', '', $ANCHOR_MS - 7200000, $ANCHOR_MS - 7200000 + 1000, 'Skipped', 400,
     0, 12, 0, 0, 0, [], [], [], [], [], [], [], [],
     '', '', 'Nothing to synchronize', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'bob', 's-b2', 'session_started', 'e-b2-start', $ANCHOR_MS - 7200000,
     'engine-1', '4.2.0', 'Schedule', $ANCHOR_MS - 7200000, 0, '', 0, 0, 0, 0, 0, 0, [], [], [], [], [], [], [], [], '', '', '', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    -- bob: started 8 hours ago and never ended (a stalled session)
    ('acme', 'acme-sales', 'bob', 's-b0', 'session_started', 'e-b0-start', $ANCHOR_MS - 28800000,
     'engine-2', '4.3.0', 'Schedule', $ANCHOR_MS - 28800000, 0, '', 0, 0, 0, 0, 0, 0, [], [], [], [], [], [], [], [], '', '', '', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    -- carol: throttled yesterday, then an end without its start 4 hours ago
    ('acme', 'acme-support', 'carol', 's-c1', 'session_started', 'e-c1-start', $ANCHOR_MS - 93600000,
     'engine-2', '4.3.0', 'Schedule', $ANCHOR_MS - 93600000, 0, '', 0, 0, 0, 0, 0, 0, [], [], [], [], [], [], [], [], '', '', '', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-support', 'carol', 's-c1', 'session_ended', 'e-c1-end', $ANCHOR_MS - 93600000 + 20000,
     'engine-2', '4.3.0', '', $ANCHOR_MS - 93600000, $ANCHOR_MS - 93600000 + 20000, 'Error', 50,
     0, 9, 1, 0, 0, [], [], [], [], [], [], [], [],
     'Throttling', 'MailServer', 'Exchange throttled the request', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-support', 'carol', 's-c2', 'session_ended', 'e-c2-end', $ANCHOR_MS - 14400000 + 30000,
     'engine-2', '4.3.0', '', $ANCHOR_MS - 14400000, $ANCHOR_MS - 14400000 + 30000, 'Error', 50,
     1, 10, 1, 1, 0, ['Contact'], [1], [0], [0], [0], [1], [0], [0],
     'Connectivity', 'MailServer', 'Mail server unreachable', 'System.Net.WebException: timeout', toDateTime(intDiv($ANCHOR_MS, 1000))),
    -- dave (globex): a success 10 days ago, a configuration error 6 hours ago
    ('globex', 'globex-main', 'dave', 's-d1', 'session_started', 'e-d1-start', $ANCHOR_MS - 864000000,
     'engine-3', '4.1.7', 'Schedule', $ANCHOR_MS - 864000000, 0, '', 0, 0, 0, 0, 0, 0, [], [], [], [], [], [], [], [], '', '', '', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('globex', 'globex-main', 'dave', 's-d1', 'session_ended', 'e-d1-end', $ANCHOR_MS - 864000000 + 75000,
     'engine-3', '4.1.7', '', $ANCHOR_MS - 864000000, $ANCHOR_MS - 864000000 + 75000, 'Success', 10,
     2, 2, 0, 0, 0, ['Task'], [2], [1], [1], [0], [0], [0], [0],
     '', '', 'Synchronization completed', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('globex', 'globex-main', 'dave', 's-d2', 'session_started', 'e-d2-start', $ANCHOR_MS - 21600000,
     'engine-3', '4.1.7', 'ForcedByAdmin', $ANCHOR_MS - 21600000, 0, '', 0, 0, 0, 0, 0, 0, [], [], [], [], [], [], [], [], '', '', '', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('globex', 'globex-main', 'dave', 's-d2', 'session_ended', 'e-d2-end', $ANCHOR_MS - 21600000 + 5000,
     'engine-3', '4.1.7', '', $ANCHOR_MS - 21600000, $ANCHOR_MS - 21600000 + 5000, 'Error', 0,
     0, 2, 1, 0, 0, [], [], [], [], [], [], [], [],
     'Configuration', 'SyncApplication', 'No saved search selected', '', toDateTime(intDiv($ANCHOR_MS, 1000)));

-- A redelivery: alice's failed end again, same event id, in another part.
INSERT INTO session_events
    (tenant_id, profile_id, user_id, session_id, event_kind, event_id, occurred_at_ms,
     engine_id, engine_version, trigger, started_at_ms, ended_at_ms, status, scope_items,
     changes, total_changes, failures, issues, conflicts, objects_type, objects_synchronized,
     objects_mail_to_crm_created, objects_mail_to_crm_updated, objects_mail_to_crm_deleted,
     objects_crm_to_mail_created, objects_crm_to_mail_updated, objects_crm_to_mail_deleted,
     error_category, error_source, message, exception, ingested_at)
VALUES
    ('acme', 'acme-sales', 'alice', 's-a2', 'session_ended', 'e-a2-end', $ANCHOR_MS - 10800000 + 45000,
     'engine-1', '4.2.0', '', $ANCHOR_MS - 10800000, $ANCHOR_MS - 10800000 + 45000, 'Error', 118,
     0, 3, 2, 2, 0, ['Email'], [0], [0], [0], [0], [0], [0], [0],
     'Authorization', 'Crm', 'Salesforce session expired', 'INVALID_SESSION_ID: Session expired or invalid', toDateTime(intDiv($ANCHOR_MS, 1000)));

INSERT INTO issue_events
    (tenant_id, profile_id, user_id, session_id, issue_id, event_id, occurred_at_ms, engine_id,
     engine_version, object_type, direction, mail_system, crm_system, object_name, operation,
     error_code, description, error_source, target_object_id, ingested_at)
VALUES
    ('acme', 'acme-sales', 'alice', 's-a2', 'i-1', 'e-i-1', $ANCHOR_MS - 10800000 + 20000, 'engine-1',
     '4.2.0', 'Email', 'MailToCrm', 'Office365', 'Salesforce', 'Re: renewal quote', 'Create',
     1, 'ENTITY_IS_LOCKED: the record is locked for editing', 'Crm', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'alice', 's-a2', 'i-2', 'e-i-2', $ANCHOR_MS - 10800000 + 21000, 'engine-1',
     '4.2.0', 'Email', 'MailToCrm', 'Office365', 'Salesforce', 'Meeting notes', 'Create',
     1, 'ENTITY_IS_LOCKED: the record is locked for editing', 'Crm', '', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-support', 'carol', 's-c2', 'i-3', 'e-i-3', $ANCHOR_MS - 14400000 + 10000, 'engine-2',
     '4.3.0', 'Contact', 'CrmToMail', 'Exchange', 'Salesforce', 'Jane Roe', 'Update',
     3, 'The item was changed on the server before the update', 'MailServer', 'AAMkAGI2TG93AAA=', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-support', 'carol', 's-c1', 'i-4', 'e-i-4', $ANCHOR_MS - 93600000 + 5000, 'engine-2',
     '4.3.0', 'Event', 'CrmToMail', 'Exchange', 'Salesforce', 'Quarterly review', 'Delete',
     2, 'The specified object was not found in the store', 'MailServer', 'AAMkAGI2TG94AAA=', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('globex', 'globex-main', 'dave', 's-d2', 'i-5', 'e-i-5', $ANCHOR_MS - 21600000 + 1000, 'engine-3',
     '4.1.7', 'Task', 'MailToCrm', 'Gmail', 'Dynamics365', 'Call back Initech', 'Create',
     1, 'Principal user is missing prvCreateTask privilege', 'Crm', '', toDateTime(intDiv($ANCHOR_MS, 1000)));

-- A redelivery of issue i-1.
INSERT INTO issue_events
    (tenant_id, profile_id, user_id, session_id, issue_id, event_id, occurred_at_ms, engine_id,
     engine_version, object_type, direction, mail_system, crm_system, object_name, operation,
     error_code, description, error_source, target_object_id, ingested_at)
VALUES
    ('acme', 'acme-sales', 'alice', 's-a2', 'i-1', 'e-i-1', $ANCHOR_MS - 10800000 + 20000, 'engine-1',
     '4.2.0', 'Email', 'MailToCrm', 'Office365', 'Salesforce', 'Re: renewal quote', 'Create',
     1, 'ENTITY_IS_LOCKED: the record is locked for editing', 'Crm', '', toDateTime(intDiv($ANCHOR_MS, 1000)));

-- Alice's failed session log: chunk 1 arrives first, and twice.
INSERT INTO log_lines
    (tenant_id, profile_id, user_id, session_id, sequence, line_no, event_id, chunk_at_ms, at_ms,
     level, text, ingested_at)
VALUES
    ('acme', 'acme-sales', 'alice', 's-a2', 1, 0, 'e-log-a2-1', $ANCHOR_MS - 10800000 + 45000, $ANCHOR_MS - 10800000 + 40000, 'Error', 'Salesforce login failed: INVALID_SESSION_ID', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'alice', 's-a2', 1, 1, 'e-log-a2-1', $ANCHOR_MS - 10800000 + 45000, $ANCHOR_MS - 10800000 + 45000, 'Info', 'Session ended with status Error', toDateTime(intDiv($ANCHOR_MS, 1000)));
INSERT INTO log_lines
    (tenant_id, profile_id, user_id, session_id, sequence, line_no, event_id, chunk_at_ms, at_ms,
     level, text, ingested_at)
VALUES
    ('acme', 'acme-sales', 'alice', 's-a2', 0, 0, 'e-log-a2-0', $ANCHOR_MS - 10800000 + 30000, $ANCHOR_MS - 10800000, 'Info', 'Session started (ForcedByUser)', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'alice', 's-a2', 0, 1, 'e-log-a2-0', $ANCHOR_MS - 10800000 + 30000, $ANCHOR_MS - 10800000 + 12000, 'Debug', 'Scope: 118 items in 2 saved searches', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'alice', 's-a2', 0, 2, 'e-log-a2-0', $ANCHOR_MS - 10800000 + 30000, $ANCHOR_MS - 10800000 + 20000, 'Warn', 'Email "Re: renewal quote": ENTITY_IS_LOCKED', toDateTime(intDiv($ANCHOR_MS, 1000)));
INSERT INTO log_lines
    (tenant_id, profile_id, user_id, session_id, sequence, line_no, event_id, chunk_at_ms, at_ms,
     level, text, ingested_at)
VALUES
    ('acme', 'acme-sales', 'alice', 's-a2', 1, 0, 'e-log-a2-1', $ANCHOR_MS - 10800000 + 45000, $ANCHOR_MS - 10800000 + 40000, 'Error', 'Salesforce login failed: INVALID_SESSION_ID', toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'alice', 's-a2', 1, 1, 'e-log-a2-1', $ANCHOR_MS - 10800000 + 45000, $ANCHOR_MS - 10800000 + 45000, 'Info', 'Session ended with status Error', toDateTime(intDiv($ANCHOR_MS, 1000)));

INSERT INTO user_state_events
    (tenant_id, profile_id, user_id, event_id, occurred_at_ms, engine_id, engine_version, change,
     display_name, mail_account, crm_user_name, mail_system, crm_system, sync_setting,
     crm_token_active, mail_token_authorized, last_token_error, saved_searches_name,
     saved_searches_object_type, saved_searches_conflict_resolution, ingested_at)
VALUES
    ('acme', 'acme-sales', 'alice', 'e-us-1', $ANCHOR_MS - 2592000000, 'engine-1', '4.2.0', 'Created',
     'Alice Example', 'alice@acme.example', 'alice@acme.example.crm', 'Office365', 'Salesforce', 'Enabled',
     1, 1, '', ['My contacts', 'Open tasks'], ['Contact', 'Task'], ['CrmWins', 'LatestWins'], toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'alice', 'e-us-2', $ANCHOR_MS - 10800000 + 46000, 'engine-1', '4.2.0', 'Updated',
     'Alice Example', 'alice@acme.example', 'alice@acme.example.crm', 'Office365', 'Salesforce', 'Enabled',
     0, 1, 'INVALID_SESSION_ID: Session expired or invalid', ['My contacts', 'Open tasks'], ['Contact', 'Task'], ['CrmWins', 'LatestWins'], toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-sales', 'bob', 'e-us-3', $ANCHOR_MS - 2592000000 + 60000, 'engine-1', '4.2.0', 'Created',
     'Bob Example', 'bob@acme.example', 'bob@acme.example.crm', 'Office365', 'Salesforce', 'Enabled',
     1, 1, '', ['My contacts'], ['Contact'], ['MailWins'], toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-support', 'carol', 'e-us-4', $ANCHOR_MS - 2592000000 + 120000, 'engine-2', '4.3.0', 'Created',
     'Carol Example', 'carol@acme.example', 'carol@acme.example.crm', 'Exchange', 'Salesforce', 'Enabled',
     1, 1, '', [], [], [], toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-support', 'carol', 'e-us-5', $ANCHOR_MS - 14400000 + 31000, 'engine-2', '4.3.0', 'Updated',
     'Carol Example', 'carol@acme.example', 'carol@acme.example.crm', 'Exchange', 'Salesforce', 'DisabledDueToError',
     1, 0, '', [], [], [], toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('globex', 'globex-main', 'dave', 'e-us-6', $ANCHOR_MS - 2592000000, 'engine-3', '4.1.7', 'Created',
     'Dave Example', 'dave@globex.example', 'dave@globex.example.crm', 'Gmail', 'Dynamics365', 'Enabled',
     1, 1, '', ['All tasks'], ['Task'], ['LatestWins'], toDateTime(intDiv($ANCHOR_MS, 1000))),
    -- erin (globex): created a month ago, deleted two days ago, never synced
    ('globex', 'globex-main', 'erin', 'e-us-7', $ANCHOR_MS - 2592000000 + 60000, 'engine-3', '4.1.7', 'Created',
     'Erin Example', 'erin@globex.example', 'erin@globex.example.crm', 'Gmail', 'Dynamics365', 'Enabled',
     1, 1, '', [], [], [], toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('globex', 'globex-main', 'erin', 'e-us-8', $ANCHOR_MS - 172800000, 'engine-3', '4.1.7', 'Deleted',
     'Erin Example', 'erin@globex.example', 'erin@globex.example.crm', 'Gmail', 'Dynamics365', 'Enabled',
     1, 1, '', [], [], [], toDateTime(intDiv($ANCHOR_MS, 1000)));

INSERT INTO profile_state_events
    (tenant_id, profile_id, event_id, occurred_at_ms, engine_id, engine_version, change, name,
     sync_enabled, ingested_at)
VALUES
    ('acme', 'acme-sales', 'e-ps-1', $ANCHOR_MS - 3456000000, 'provisioning', '1.0.0', 'Created', 'Sales', 1, toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-support', 'e-ps-2', $ANCHOR_MS - 3456000000, 'provisioning', '1.0.0', 'Created', 'Support', 1, toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('acme', 'acme-support', 'e-ps-3', $ANCHOR_MS - 86400000, 'provisioning', '1.0.0', 'Updated', 'Support desk', 0, toDateTime(intDiv($ANCHOR_MS, 1000))),
    ('globex', 'globex-main', 'e-ps-4', $ANCHOR_MS - 3456000000, 'provisioning', '1.0.0', 'Created', 'Globex', 1, toDateTime(intDiv($ANCHOR_MS, 1000)));

-- Two versions of request r-1 (accepted, then published), one failed request.
INSERT INTO admin_actions
    (tenant_id, profile_id, user_id, request_id, command_id, action, issued_by, issued_at_ms,
     result, detail, new_mail_account, new_crm_user_name, version)
VALUES
    ('acme', 'acme-support', 'carol', 'r-1', 'c-1', 'Enable', 'admin@acme.example', $ANCHOR_MS - 3600000, 'accepted', '', '', '', 1),
    ('acme', 'acme-sales', 'alice', 'r-2', 'c-2', 'UpdateCredentials', 'admin@acme.example', $ANCHOR_MS - 3000000, 'failed', 'broker unavailable', 'alice@acme.example', 'alice.new@acme.example.crm', 1);
INSERT INTO admin_actions
    (tenant_id, profile_id, user_id, request_id, command_id, action, issued_by, issued_at_ms,
     result, detail, new_mail_account, new_crm_user_name, version)
VALUES
    ('acme', 'acme-support', 'carol', 'r-1', 'c-1', 'Enable', 'admin@acme.example', $ANCHOR_MS - 3600000, 'published', '', '', '', 2);

-- Dead letters; the one at offset 42 is stored twice (redelivered before its commit).
INSERT INTO dead_letters
    (topic, partition, offset, message_key, payload, message_timestamp_ms, error_kind,
     error_message, received_at_ms)
VALUES
    ('synctel.events', 0, 42, 'acme/alice', 'not avro', $ANCHOR_MS - 7000000, 'bad_magic_byte', 'magic byte 110, expected 0', $ANCHOR_MS - 7000000 + 15),
    ('synctel.events', 3, 7, 'acme/bob', '', $ANCHOR_MS - 6000000, 'empty', 'empty message', $ANCHOR_MS - 6000000 + 12),
    ('synctel.logs', 1, 1001, 'globex/dave', 'truncated', $ANCHOR_MS - 5000000, 'truncated', 'truncated: needed 8 more bytes at offset 17', $ANCHOR_MS - 5000000 + 9),
    ('synctel.events', 2, 88, 'acme/carol', 'x', $ANCHOR_MS - 4000000, 'contract_violation', 'contract violation: `error_code` 7 is outside 0..=3', $ANCHOR_MS - 4000000 + 20),
    ('synctel.events', 5, 3, 'acme/carol', 'y', $ANCHOR_MS - 1209600000, 'unknown_schema_id', 'unknown schema id 99', $ANCHOR_MS - 1209600000 + 20);
INSERT INTO dead_letters
    (topic, partition, offset, message_key, payload, message_timestamp_ms, error_kind,
     error_message, received_at_ms)
VALUES
    ('synctel.events', 0, 42, 'acme/alice', 'not avro', $ANCHOR_MS - 7000000, 'bad_magic_byte', 'magic byte 110, expected 0', $ANCHOR_MS - 7000000 + 15);

-- What the aggregator writes for the events above, in a cycle at $ANCHOR_MS (rows produced
-- by aggregator/sql/recompute_users.sql with now = $ANCHOR_MS and the default limits, then
-- written relative to $ANCHOR_MS). First an older row of alice, computed right after s-a2
-- ended and before s-a3 started, in its own part: FINAL and the views keep only the newest.
INSERT INTO user_state
    (tenant_id, user_id, profile_id, display_name, mail_account, crm_user_name, deleted,
     profile_deleted, sync_setting, profile_status, effective_status, sync_state,
     no_recent_session, crm_token_active, mail_token_authorized, last_token_error,
     last_session_id, last_session_started_at_ms, last_session_ended_at_ms,
     last_session_duration_ms, last_session_status, last_outcome, ever_succeeded,
     last_error_category, last_error_source, last_error_message, consecutive_failures,
     first_seen_ms, last_event_at_ms, changes_at_ms, computed_at_ms, version)
VALUES
    ('acme', 'alice', 'acme-sales', 'Alice Example', 'alice@acme.example',
     'alice@acme.example.crm', 0, 0, 'Enabled', 'Enabled', 'Enabled', 'LastSyncFailed', 0, 0,
     1, 'INVALID_SESSION_ID: Session expired or invalid', 's-a2', $ANCHOR_MS - 10800000,
     $ANCHOR_MS - 10755000, 45000, 'Error', 'Error', 1, 'Authorization', 'Crm',
     'Salesforce session expired', 1, $ANCHOR_MS - 2592000000, $ANCHOR_MS - 10754000,
     $ANCHOR_MS + 75600000, $ANCHOR_MS - 10740000, $ANCHOR_MS - 10740000);
-- The current rows: alice in progress (s-a3), bob's skipped session keeps his success, carol
-- disabled with her profile and never synced, dave failing, erin deleted.
INSERT INTO user_state
    (tenant_id, user_id, profile_id, display_name, mail_account, crm_user_name, deleted,
     profile_deleted, sync_setting, profile_status, effective_status, sync_state,
     no_recent_session, crm_token_active, mail_token_authorized, last_token_error,
     last_session_id, last_session_started_at_ms, last_session_ended_at_ms,
     last_session_duration_ms, last_session_status, last_outcome, ever_succeeded,
     last_error_category, last_error_source, last_error_message, consecutive_failures,
     first_seen_ms, last_event_at_ms, changes_at_ms, computed_at_ms, version)
VALUES
    ('acme', 'alice', 'acme-sales', 'Alice Example', 'alice@acme.example',
     'alice@acme.example.crm', 0, 0, 'Enabled', 'Enabled', 'Enabled', 'InProgress', 0, 0, 1,
     'INVALID_SESSION_ID: Session expired or invalid', 's-a3', $ANCHOR_MS - 1800000, 0, 0, '',
     'Error', 1, 'Authorization', 'Crm', 'Salesforce session expired', 1,
     $ANCHOR_MS - 2592000000, $ANCHOR_MS - 1800000, $ANCHOR_MS + 1800000, $ANCHOR_MS,
     $ANCHOR_MS),
    ('acme', 'bob', 'acme-sales', 'Bob Example', 'bob@acme.example', 'bob@acme.example.crm', 0,
     0, 'Enabled', 'Enabled', 'Enabled', 'LastSyncSucceeded', 0, 1, 1, '', 's-b2',
     $ANCHOR_MS - 7200000, $ANCHOR_MS - 7199000, 1000, 'Skipped', 'Success', 1, '', '', '', 0,
     $ANCHOR_MS - 2591940000, $ANCHOR_MS - 7199000, $ANCHOR_MS + 79200000, $ANCHOR_MS,
     $ANCHOR_MS),
    ('acme', 'carol', 'acme-support', 'Carol Example', 'carol@acme.example',
     'carol@acme.example.crm', 0, 0, 'DisabledDueToError', 'Disabled', 'Disabled',
     'NeverSynced', 0, 1, 0, '', 's-c2', $ANCHOR_MS - 14400000, $ANCHOR_MS - 14370000, 30000,
     'Error', 'Error', 0, 'Connectivity', 'MailServer', 'Mail server unreachable', 2,
     $ANCHOR_MS - 2591880000, $ANCHOR_MS - 14369000, 0, $ANCHOR_MS, $ANCHOR_MS),
    ('globex', 'dave', 'globex-main', 'Dave Example', 'dave@globex.example',
     'dave@globex.example.crm', 0, 0, 'Enabled', 'Enabled', 'Enabled', 'LastSyncFailed', 0, 1,
     1, '', 's-d2', $ANCHOR_MS - 21600000, $ANCHOR_MS - 21595000, 5000, 'Error', 'Error', 1,
     'Configuration', 'SyncApplication', 'No saved search selected', 1,
     $ANCHOR_MS - 2592000000, $ANCHOR_MS - 21595000, $ANCHOR_MS + 64800000, $ANCHOR_MS,
     $ANCHOR_MS),
    ('globex', 'erin', 'globex-main', 'Erin Example', 'erin@globex.example',
     'erin@globex.example.crm', 1, 0, 'Enabled', 'Enabled', 'Enabled', 'NeverSynced', 0, 1, 1,
     '', '', 0, 0, 0, '', '', 0, '', '', '', 0, $ANCHOR_MS - 2591940000,
     $ANCHOR_MS - 172800000, 0, $ANCHOR_MS, $ANCHOR_MS);

-- The session and issue series of that cycle: the statements of aggregator/sql/
-- session_counts.sql and issue_counts.sql over every event.
INSERT INTO session_counts (tenant_id, profile_id, granularity, bucket, status, sessions, version)
SELECT
    tenant_id,
    profile_id,
    g,
    if(g = 'hour', toStartOfHour(occurred_at), toStartOfDay(occurred_at)) AS b,
    status,
    uniqExact(session_id),
    toUInt64($ANCHOR_MS)
FROM session_events
ARRAY JOIN ['hour', 'day'] AS g
WHERE event_kind = 'session_ended'
GROUP BY tenant_id, profile_id, g, b, status;

INSERT INTO issue_counts
    (tenant_id, profile_id, granularity, bucket, error_code, object_type, direction, issues, version)
SELECT
    tenant_id,
    profile_id,
    g,
    if(g = 'hour', toStartOfHour(occurred_at), toStartOfDay(occurred_at)) AS b,
    error_code,
    object_type,
    direction,
    uniqExact(issue_id),
    toUInt64($ANCHOR_MS)
FROM issue_events
ARRAY JOIN ['hour', 'day'] AS g
GROUP BY tenant_id, profile_id, g, b, error_code, object_type, direction;

-- Its users-per-status snapshot (aggregator/sql/user_status_snapshot.sql).
INSERT INTO user_status_counts
    (tenant_id, profile_id, granularity, bucket, effective_status, sync_state, users, snapshot_version)
SELECT
    tenant_id,
    profile_id,
    g,
    if(g = 'hour', toStartOfHour(toDateTime(intDiv($ANCHOR_MS, 1000))),
        toStartOfDay(toDateTime(intDiv($ANCHOR_MS, 1000)))) AS b,
    effective_status,
    sync_state,
    count(),
    toUInt64($ANCHOR_MS)
FROM
(
    SELECT tenant_id, profile_id, effective_status, sync_state
    FROM monitor_users
)
ARRAY JOIN ['hour', 'day'] AS g
GROUP BY tenant_id, profile_id, g, b, effective_status, sync_state;

-- Its watermark: everything ingested up to 2 s (settle_secs) before the cycle is reflected.
INSERT INTO aggregator_progress (name, watermark, cycle_at_ms, version)
VALUES ('main', toDateTime(intDiv($ANCHOR_MS, 1000) - 2), $ANCHOR_MS, $ANCHOR_MS);

-- The per-session rows of that cycle: what aggregator/sql/recompute_sessions.sql writes for
-- every started session (here from the `sessions` view, which merges the same way; no key
-- moved, so no tombstone), and that step's watermark.
INSERT INTO session_state
(
    tenant_id, profile_id, started_at_ms, user_id, session_id, deleted, queued_at_ms,
    ended_at_ms, duration_ms, trigger, status, scope_items, changes, total_changes, failures,
    issues, conflicts, objects_type, objects_synchronized, objects_mail_to_crm_created,
    objects_mail_to_crm_updated, objects_mail_to_crm_deleted, objects_crm_to_mail_created,
    objects_crm_to_mail_updated, objects_crm_to_mail_deleted, error_category, error_source,
    message, exception, engine_id, engine_version, computed_at_ms, version
)
SELECT
    tenant_id, profile_id, started_at_ms, user_id, session_id, toUInt8(0), queued_at_ms,
    ended_at_ms, duration_ms, trigger, status, scope_items, changes, total_changes, failures,
    issues, conflicts, objects_type, objects_synchronized, objects_mail_to_crm_created,
    objects_mail_to_crm_updated, objects_mail_to_crm_deleted, objects_crm_to_mail_created,
    objects_crm_to_mail_updated, objects_crm_to_mail_deleted, error_category, error_source,
    message, exception, engine_id, engine_version, toInt64($ANCHOR_MS), toUInt64($ANCHOR_MS)
FROM sessions
WHERE started_at_ms != 0;

INSERT INTO aggregator_progress (name, watermark, cycle_at_ms, version)
VALUES ('session_state', toDateTime(intDiv($ANCHOR_MS, 1000) - 2), $ANCHOR_MS, $ANCHOR_MS);

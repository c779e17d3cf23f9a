--
-- Privileges.  Nothing is granted to PUBLIC; a DBA grants roles with
-- oms.grant_admin, oms.grant_app and oms.grant_reporting (README, "Roles").
--

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA oms FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA oms FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA oms FROM PUBLIC;

REVOKE ALL ON ALL TABLES IN SCHEMA oms_report FROM PUBLIC;

-- The reporting role reads the views of schema oms_report and nothing else
-- (README, "Reporting").  grant_app and grant_admin begin here, so the role
-- is checked here: an empty name or one that is no role (PUBLIC included)
-- is OM110.
CREATE FUNCTION oms.grant_reporting(role name) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) role) THEN
        RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = 'OM110',
            HINT = 'Name an existing role; create it first with CREATE ROLE.';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA oms_report TO %I', role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA oms_report TO %I', role);
    -- What the views call: their tail of unfolded orders, the hour histograms.
    EXECUTE format('GRANT EXECUTE ON FUNCTION oms.report_tail_of(smallint), oms.report_hist(integer), '
                   'oms.report_hist_sum(bigint[]), oms.report_hist_neg(bigint[]), '
                   'oms.report_hist_percentile(bigint[], double precision) TO %I', role);
END
$$;
COMMENT ON FUNCTION oms.grant_reporting(name) IS
    'Lets a role read the reporting views (schema oms_report) and nothing else.';

CREATE FUNCTION oms.grant_app(role name) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM oms.grant_reporting(role);
    EXECUTE format('GRANT USAGE ON SCHEMA oms TO %I', role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA oms TO %I', role);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA oms TO %I', role);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION oms.grant_reporting(name), oms.grant_app(name), '
                   'oms.grant_admin(name) FROM %I', role);
END
$$;
COMMENT ON FUNCTION oms.grant_app(name) IS
    'Lets a role call every oms function and read every oms table and view; it still writes nothing directly.';

CREATE FUNCTION oms.grant_admin(role name) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM oms.grant_app(role);
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON oms.channel, oms.location, oms.channel_location, oms.sku, '
                   'oms.routing_policy, oms.atp_policy, oms.return_reason, oms.return_policy, oms.report_stock_threshold TO %I', role);
    EXECUTE format('GRANT USAGE ON oms.channel_id_seq, oms.location_id_seq, oms.sku_id_seq, '
                   'oms.return_reason_id_seq TO %I', role);
END
$$;
COMMENT ON FUNCTION oms.grant_admin(name) IS
    'Lets a role do what oms.grant_app allows and also maintain master data (channels, locations, SKUs, routing and available-to-promise policies, return reasons and policies); only such a role may override a return policy.';

REVOKE ALL ON FUNCTION oms.grant_reporting(name), oms.grant_app(name), oms.grant_admin(name) FROM PUBLIC;

-- Payment methods and audit actions are closed lists: one enum each, from which the columns,
-- the api's checks and messages and the OpenAPI document take their values.
CREATE TYPE ta.payment_method AS ENUM ('CASH', 'TRANSFER');
COMMENT ON TYPE ta.payment_method IS 'How a payment was made: cash or bank transfer.';
ALTER TABLE ta.payments DROP CONSTRAINT payments_payment_method_check,
    ALTER COLUMN payment_method TYPE ta.payment_method USING payment_method::ta.payment_method;
CREATE TYPE ta.audit_action AS ENUM ('read', 'create', 'update', 'delete', 'export');
COMMENT ON TYPE ta.audit_action IS 'What an audited api call did with patient data.';
ALTER TABLE ta.audit_log DROP CONSTRAINT audit_log_action_check,
    ALTER COLUMN action TYPE ta.audit_action USING action::ta.audit_action;
-- Messages list the values from the types; the check of a payment method moves from the
-- dropped constraint's message to the parser.
-- @function ta.one_of
-- @function ta.to_payment_method
-- @function ta.explain_violation
-- The functions that write or filter the two columns.
-- @function ta.audit
-- @function api.list_audit
-- @function api.create_payment
-- @function api.list_payments
-- @function api.update_payment

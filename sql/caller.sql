-- The caller: who is calling (from the transaction's request.jwt.claims) and the
-- checks every api function starts with.

-- The user id of the caller after checking that the claims name a live user of the
-- practice they claim; 401 otherwise (also for a token of a deleted user).
CREATE FUNCTION ta.caller() RETURNS bigint
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    claims json := nullif(current_setting('request.jwt.claims', true), '')::json;
    sub text := claims ->> 'sub';
    pid text := claims ->> 'pid';
    uid bigint;
BEGIN
    IF sub ~ '^[0-9]{1,18}$' AND pid ~ '^[0-9]{1,18}$' THEN
        SELECT u.id INTO uid FROM ta.users u
         WHERE u.id = sub::bigint AND u.practice_id = pid::bigint AND u.deleted_at IS NULL;
    END IF;
    IF uid IS NULL THEN
        PERFORM ta.raise('28000', 'Could not validate credentials');
    END IF;
    RETURN uid;
END $$;

-- A patient of the caller's practice that is not archived, or 404.
CREATE FUNCTION ta.require_patient(patient_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF patient_id IS NULL THEN
        PERFORM ta.raise('22023', 'Pole patient_id jest wymagane', 'patient_id');
    END IF;
    PERFORM FROM ta.patients p WHERE p.id = patient_id AND p.deleted_at IS NULL;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Pacjent nie został znaleziony');
    END IF;
END $$;


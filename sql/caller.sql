-- The caller: who is calling, from the bearer token the proxy hands over (request.jwt),
-- verified here, and the checks every api function starts with.

-- ta.caller(), the user id of the caller (401 otherwise), is in C in the extension
-- (sql/native.sql, extension/caller.c) and in PL/pgSQL in the plain-SQL install
-- (sql/fallback/native.sql): every api function that reaches practice data calls it first.

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

-- Issue 18, GET /appointments: the same answers from a statement planned once per backend (bench/README.md,
-- "Lean appointments list (issue 18)").

-- list_appointments' query was planned anew in every request (no good generic plan for "x IS NULL OR
-- a.date >= x"); absent dates are now the infinities, the patient filter a statement of its own, and
-- json_agg reads the sorted page without sorting it again.
-- @function api.list_appointments

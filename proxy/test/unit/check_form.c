/* Login forms: urlencoded and multipart as browsers and curl send them, and what is refused. */
#include <string.h>

#include "form.h"
#include "suites.h"

static const char *const login[] = {"username", "email", "password", NULL};

static void assert_field(json_t *obj, const char *name, const char *value)
{
	ck_assert_ptr_nonnull(obj);
	ck_assert_ptr_nonnull(json_object_get(obj, name));
	ck_assert_str_eq(json_string_value(json_object_get(obj, name)), value);
}

START_TEST(urlencoded)
{
	const char *error = NULL;
	const char *body = "grant_type=&username=ola%40example.com&password=p%C3%B3%C5%82+%26%3D&scope=";
	json_t *obj = form_urlencoded_parse(body, strlen(body), login, &error);

	assert_field(obj, "username", "ola@example.com");
	assert_field(obj, "password", "p\xc3\xb3\xc5\x82 &=");
	ck_assert_ptr_null(json_object_get(obj, "grant_type"));
	ck_assert_int_eq(json_object_size(obj), 2);
	json_decref(obj);

	obj = form_urlencoded_parse("a&&b=&password", 14, NULL, &error);
	assert_field(obj, "a", "");
	assert_field(obj, "password", "");
	json_decref(obj);

	obj = form_urlencoded_parse("", 0, login, &error);
	ck_assert_int_eq(json_object_size(obj), 0);
	json_decref(obj);
}
END_TEST

START_TEST(urlencoded_refusals)
{
	const char *error = NULL;

	ck_assert_ptr_null(form_urlencoded_parse("password=%zz", 12, login, &error));
	ck_assert_ptr_null(form_urlencoded_parse("password=%4", 11, login, &error));
	ck_assert_ptr_null(form_urlencoded_parse("password=%", 10, login, &error));
	ck_assert_ptr_null(form_urlencoded_parse("password=%ff%fe", 15, login, &error));
	ck_assert(strstr(error, "UTF-8") != NULL);
	ck_assert_ptr_null(form_urlencoded_parse("password=a%00b", 14, login, &error));
	ck_assert(strstr(error, "NUL") != NULL);
}
END_TEST

START_TEST(multipart_as_browsers_send_it)
{
	const char *type = "multipart/form-data; boundary=----WebKitFormBoundaryx7Yq";
	const char *body = "------WebKitFormBoundaryx7Yq\r\n"
			   "Content-Disposition: form-data; name=\"username\"\r\n\r\n"
			   "ola@example.com\r\n"
			   "------WebKitFormBoundaryx7Yq\r\n"
			   "Content-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\n"
			   "Content-Type: image/png\r\n\r\n"
			   "\x89PNG\r\n"
			   "------WebKitFormBoundaryx7Yq\r\n"
			   "content-disposition: form-data; name=\"password\"\r\n\r\n"
			   "ha\r\nsło\r\n"
			   "------WebKitFormBoundaryx7Yq--\r\n";
	const char *error = NULL;
	json_t *obj = form_multipart_parse(type, body, strlen(body), NULL, &error);

	assert_field(obj, "username", "ola@example.com");
	assert_field(obj, "password", "ha\r\nsło");
	ck_assert_ptr_null(json_object_get(obj, "avatar"));
	json_decref(obj);
}
END_TEST

START_TEST(multipart_quoted_boundary_and_preamble)
{
	const char *type = "multipart/form-data; charset=utf-8; boundary=\"b o\"";
	const char *body = "preamble\r\n--b o\r\n"
			   "Content-Disposition: form-data; name=password\r\n\r\n"
			   "x\r\n--b o--";
	const char *error = NULL;
	json_t *obj = form_multipart_parse(type, body, strlen(body), login, &error);

	assert_field(obj, "password", "x");
	json_decref(obj);
}
END_TEST

START_TEST(multipart_refusals)
{
	const char *good = "--B\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nx\r\n--B--\r\n";
	const char *error = NULL;

	ck_assert_ptr_null(form_multipart_parse("multipart/form-data", good, strlen(good), login, &error));
	ck_assert_ptr_null(form_multipart_parse("multipart/form-data; boundary=C", good, strlen(good), login, &error));
	/* cut before the closing delimiter */
	ck_assert_ptr_null(form_multipart_parse("multipart/form-data; boundary=B", good, 40, login, &error));
	ck_assert_ptr_null(form_multipart_parse("multipart/form-data; boundary=B", good, strlen(good) - 9, login,
						&error));
	/* no name */
	ck_assert_ptr_null(form_multipart_parse("multipart/form-data; boundary=B",
						"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--", 39, login, &error));
	/* not UTF-8 */
	ck_assert_ptr_null(form_multipart_parse("multipart/form-data; boundary=B",
						"--B\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n"
						"\xff\r\n--B--",
						62, login, &error));
	ck_assert(strstr(error, "UTF-8") != NULL);
	ck_assert_ptr_null(form_multipart_parse("multipart/form-data; boundary=B", "", 0, login, &error));
}
END_TEST

Suite *form_suite(void)
{
	return SUITE("form",
		     urlencoded,
		     urlencoded_refusals,
		     multipart_as_browsers_send_it,
		     multipart_quoted_boundary_and_preamble,
		     multipart_refusals);
}

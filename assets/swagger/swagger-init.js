// Loads the OpenAPI document served beside this page; "Authorize" takes the access token from
// POST /api/login.
window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: 'doc.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
  });
});

// Starts Swagger UI on the OpenAPI document beside this page (/docs, /openapi.json). A file of
// its own rather than an inline script, so that the page's Content-Security-Policy can refuse
// every inline script.
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Swagger UI would otherwise send the document to a public validator.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});

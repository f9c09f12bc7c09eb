// Swagger UI over the merged OpenAPI document (served by this product; no CDN).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || !window.SwaggerUIBundle) { return; }
  window.SwaggerUIBundle({ url: root.getAttribute("data-openapi-url"), domNode: root, deepLinking: true });
});

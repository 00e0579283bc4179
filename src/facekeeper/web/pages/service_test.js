// The test page of one service: where it sits (application, service), then the test panel.

import { services } from "../admin.js";
import { h } from "../dom.js";
import { SERVICE_TYPES } from "../faceapi.js";
import { applicationOf, pageHeader, serviceCrumbs, typeBadge } from "../layout.js";
import { testPanel } from "./test.js";

export async function renderServiceTest(view, serviceId) {
  const service = await services.get(serviceId);
  const app = await applicationOf(service);
  const spec = SERVICE_TYPES[service.type];
  view.append(
    pageHeader(`Test ${service.name}`, {
      crumbs: serviceCrumbs(app),
      subtitle: h("span", {}, typeBadge(service.type), ` Sends POST ${spec.path} with this service's API key, as a client would.`),
    }),
    testPanel(service),
  );
}

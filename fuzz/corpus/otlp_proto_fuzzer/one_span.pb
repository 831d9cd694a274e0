
Ö


service.name
apij

edgewise-loadgenT
 ä3‚r„sn'ö0Y‹ππg’e£JI6*span09Ë£G{Aà…m{J
http.request.method
GET
"""The readings of abuse_intent.Reader besides abuse.py's cue families: what a sentence is about (commerce), who asks,
who gains, who defends against abuse, who reports someone's doing, and staff's own work. Each is a list of
alternatives in the normalised text's spelling (abuse_intent.normalise: lower case, no accents)."""

from __future__ import annotations


def words(*alternatives: str) -> str:
    return r"\b(?:" + "|".join(alternatives) + r")\b"


# --- what a sentence is about: commerce, payment and its controls (required) ------------------------------------------
OBJECT = words(
    r"orders?|ordered|ordering|purchas\w*|buy\w*|bought|refund\w*|return\w*|chargebacks?|charge ?backs?|disput\w*",
    r"charges?|coupons?|promo\w*|vouchers?|discounts?|codes?|gift ?cards?|giftcards?|balances?|pric\w*|carts?",
    r"baskets?|checkout|check ?out|payments?|pay|paid|paying|billing|bills?|cards?|cc|ccs|bins?|accounts?|loyalty",
    r"points|rewards?|cashback|cash ?back|referr\w*|refer|bonus\w*|credits?|shipping|postage|deliver\w*|parcels?",
    r"packages?|shipments?|tracking|labels?|items?|goods|products?|merchandise|stock|inventory|sneakers?|consoles?",
    r"tickets?|reviews?|listings?|sellers?|merchants?|shops?|stores?|till|register|warehouse|fraud\w*|risk|3 ?ds",
    r"3 ?d ?secure|vbv|avs|velocity|verification|trials?|samples?|subscriptions?|invoices?|klarna|paypal|afterpay",
    r"bnpl|bank|money|installments?|receipts?|replacements?|reship\w*|restocking|sales?|deals?|membership|cashier",
    r"quantity|quantities|qty|unit price|total|amounts?|fees?|tags?|box|queue|launch|restock\w*|limited edition",
    r"food|meals?|restaurant|takeaway|dessert|pizza|send\w* (?:\w+ )?back|sent (?:\w+ )?back|bestell\w*|kauf\w*",
    r"erstatt\w*",
    r"ruckerstatt\w*|geld zuruck\w*|rucksend\w*|retour\w*|zuruckschick\w*|ruckbuchung\w*|gutschein\w*|rabatt\w*",
    r"geschenkkart\w*|guthaben|preis\w*|warenkorb\w*|kasse|zahlung\w*|bezahl\w*|karte|karten|kreditkart\w*|konto",
    r"konten|punkte|treuepunkt\w*|versand\w*|paket\w*|lieferung\w*|ware|waren|artikel|etikett\w*|neukunden\w*",
    r"bewertung\w*|personalrabatt|mitarbeiterrabatt|commande|commandes|commandée?s?|rembours\w*|colis|livraison\w*",
    r"paiement\w*|payer|carte|cartes|panier|prix|compte|comptes|solde|reduction\w*|remise\w*|parrainage|fidelite",
    r"banque|impayes?|achat\w*|caisse|avis|pedidos?|reembols\w*|devolu\w*|devolver\w*|paquetes?|envios?|pagos?|pagar",
    r"tarjetas?|cupon\w*|codigos?|descuentos?|carrito|precios?|cuentas?|saldo|productos?|compras?|contracargos?",
    r"resenas?|puntos|tiendas?|ordine|ordini|ordinare|ordinato|rimbors\w*|reso|resi|restitu\w*|pacco|pacchi",
    r"spedizion\w*|pagament\w*|pagare|carta|codice|codici|sconto|sconti|carrello|prezz\w*|prodott\w*|acquist\w*",
    r"recension\w*|punti|negozio|banca|scarpe|scatola|bestelling\w*|terugbetal\w*|geld terug|pakket\w*|verzend\w*",
    r"betal\w*|kaart\w*|creditcard\w*|korting\w*|kortingscode\w*|winkelwagen\w*|prijs\w*|prijzen|aankoop\w*",
    r"cadeaukaart\w*|punten|winkel\w*|welkomst\w*|personeelskorting|reembolso|pacote\w*|entrega\w*|pagamento\w*",
    r"cartao|cartoes|cupom|cupons|desconto\w*|carrinho|preco\w*|conta|contas|produto\w*|loja\w*|avaliac\w*|pontos",
    r"vestido|zamowien\w*|zwrot\w*|paczk\w*|przesylk\w*|dostaw\w*|platnos\w*|zaplac\w*|kart\w*|kod\w*|rabat\w*",
    r"kupon\w*|koszyk\w*|cena|ceny|cenę|ceną|kont\w*|produkt\w*|towar|towaru|towary|zakup\w*|opinia|opinie|opinii",
    r"punkt\w*|sklep\w*|konsol\w*|pieniad\w*")

# --- who asks, who gains, who defends ---------------------------------------------------------------------------------
ASKS = words(
    r"how (?:do|can|could|would|should|might|will) (?:i|one|someone|somebody|people|he|she)|how to|how would someone",
    r"how does one|help (?:me|us)|(?:tell|show|teach) me (?:how|what|which|the)|teach me to|walk me through",
    r"(?:give|tell|show|list) me (?:the |a )?(?:steps|way|ways|method|trick)|steps to|a way to|ways to|explain how to",
    r"step by step|exact (?:steps|wording)|in detail",
    r"i (?:want|need|wanna|plan|intend|would like|'d like|am going|'m going|am trying|'m trying|have) to|my plan",
    r"is there (?:a|any) (?:way|trick|method)",
    r"what'?s (?:the|a|an) (?:best|easiest|quickest|safest|fastest|simplest|trick|untraceable)",
    r"what (?:should|do|can) i (?:say|write|tell|do|enter|use|put|pick|choose)|which \w+ (?:should|do|can) i",
    r"describe (?:exactly |in detail )?how|i'?m writing a (?:novel|story|screenplay|book|thriller|script)",
    r"in a (?:novel|story|screenplay|book|thriller|film|movie|script)|suppose i|if someone wanted|asking for a friend",
    r"my (?:friend|buddy|cousin|mom|sister|brother|roommate|flatmate) (?:wants|asked|needs|would like)",
    r"for (?:a|my) (?:novel|story|screenplay|book|thriller|film|movie)|role ?play|pretend (?:you|to be)",
    r"you are (?:now )?dan|hypothetically|how (?:do|can) we (?:get|make|keep|use)",
    r"wie (?:kann|könnte|mache|nutze|umgehe|bekomme|schaffe|bringe|kriege|soll) ich|hilf mir|zeig mir|erklär\w* mir",
    r"comment (?:je|puis|faire|modifier|contourner|obtenir|créer|utiliser|vider|avoir)|aide moi|aidez moi",
    r"explique moi|expliquez moi|dis moi|dites moi|je (?:veux|voudrais)|cómo (?:puedo|hago|hacer|podría|consigo)",
    r"ayúdame|dime|explícame|quiero|come (?:posso|faccio|fare)|aiutami|dimmi|spiegami|voglio|vorrei",
    r"hoe (?:kan|gebruik|omzeil|krijg|doe|moet) ik|leg uit|vertel me|ik wil",
    r"como (?:posso|fazer|faço|alterar|conseguir|criar)|me ajud\w*|ajude me|me diga|me explica|quero",
    r"jak (?:mogę|mam|zrobić|obejść|można)|pomóż mi|powiedz mi|chcę")
ASKS_WEAK = words(
    r"^(?:como|cómo|come|comment|wie|hoe|jak)",
    r"(?:write|give|make|find|get|build|send|generate|create) (?:me|us)|(?:can|could|may|should) i|if i",
    r"^(?:write|generate|create|build|give|automate|find me|show me|make (?:me|it|the|them|my)|draft|compose|"
    r"describe|explain|list|suggest|invent|rewrite|word)",
    r"i need (?:a|an|some)",
    r"write (?:\d+|a|an) (?:\w+ ){0,2}(?:script|bot|letter|message|complaint|email|e mail|extension|reviews?)",
    r"generate|create \d+|build me|find me|give me|would you (?:kindly|please)",
    r"could you (?:please )?(?:tell|help|show|explain|write)|please write|method to|want to know|how$|^how",
    r"best \w+ (?:method|way)",
    r"need (?:a|an|some)? ?(?:script|bot|way|method|list|cc|ccs|cards?|cvv|fullz|bins?|drops?)|schreib\w* mir|gib mir",
    r"ich (?:will|möchte|brauche)|escríbeme|necesito|scrivimi|schrijf me|preciso|napisz mi")
QUESTION = words(
    r"^(?:what|which|where|when|is there|are there|does|do|can|could|would|should|will)")
PERSONAL = words(
    r"so (?:that )?i (?:can |could )?(?:get|keep|pay|save|don'?t|never|avoid|still|collect|receive)",
    r"so (?:that )?i can (?:get|keep|pay|save|return|use|order|buy|claim|collect|resell|sell|test|spend|cash)",
    r"so (?:they|the (?:shop|store|seller|bank|merchant|support|agent)) (?:refunds?|resends?|reships?|pays?|credits?|"
    r"sends? (?:me )?(?:a|another|the|it))",
    r"side with me|rule for me|win the (?:dispute|chargeback|case|claim)|so (?:that )?i'?ll|for me|for myself",
    r"(?:to|into|onto|on) my (?:own |personal )?(?:card|account|wallet|bank)|my (?:own|personal) (?:card|account)",
    r"my (?:friends?|buddy|cousin|brother|sister|mom|dad|family|girlfriend)'?s?",
    r"my (?:boyfriend|wife|husband|roommate|flatmate)'?s?|i keep|(?:so|then|and|but) i (?:only |just )?pay",
    r"i (?:only |just )?pay (?:less|nothing|half|once)|myself|i'?ll take|we own|in my favou?r",
    r"so (?:that )?my (?:orders?|payments?|purchases?|refunds?) (?:go|goes|get|gets) (?:through|approved)|damit ich",
    r"pour que je|para que|per avere|zodat ik|para eu|żeby dostać",
    r"(?:so|then|and then|and so|and|which means) i (?:then |still |just )?(?:get|receive|collect|earn|keep|pocket|"
    r"end up with) (?:\w+ ){0,3}?(?:store credit|credits?|money|cash|refunds?|points|balance|vouchers?|gift ?cards?|"
    r"the difference|paid|a payout|for free)",
    r"do i (?:then |still )?(?:get|receive|keep|earn|collect) (?:\w+ ){0,3}?(?:store credit|credits?|money|cash|"
    r"refunds?|points|balance|vouchers?|the difference|for free)")
"""Someone who gains: the author (`so I pay less`, `...the total goes negative, and then I get store credit`), or
people the author names (`my sister's orders`). Money or credit, not anything got (`and then I get an error`)."""
DEFENDS = words(
    r"detect\w*|prevent\w*|stop (?:people|customers|them|fraud|bots|scalp\w*|abuse)|spot|spotting|identif\w*|catch",
    r"catching|investigat\w*|audit\w*|monitor\w*|alerts?|red flags?|signals?|indicators?|look for",
    r"(?:write|add|create|set up|build|tune|draft|design|new|a|our) (?:\w+ ){0,2}rules?|rules? (?:that|to|which|for)",
    r"(?:our|the) (?:\w+ )?polic(?:y|ies) (?:says?|allows?|on|for)|policy draft|tactics",
    r"draft (?:a |the |our |an )?(?:\w+ )?polic(?:y|ies)|jira|(?:create|file|open|write) (?:a |the )?(?:\w+ )?ticket",
    r"flag (?:all |any |the |these |those )?(?:accounts|orders|customers|users|transactions|refunds|them)",
    r"stop (?:the same |the |a |our |these |those )?(?:customers?|people|users|buyers|shoppers|accounts|them) from",
    r"per (?:the |our )?policy|press (?:release|statement|team|office)|(?:press|public|official) statement|incident",
    r"post ?mortem|announcement|sku|catalog\w*|pricing tool|pandas|snippet|dataframe",
    r"find (?:all |the )?(?:accounts|customers|orders|users)|terms and conditions|training|trainings|train|awareness",
    r"workshop|onboarding|playbook|runbook|macro|case study|wiki|deck|loss prevention|mitigat\w*|harden\w*|protect\w*",
    r"threat model\w*|red team|pentest\w*|staging|qa|sandbox|demo|seed|mock\w*|dummy|synthetic|fixtures?",
    r"test (?:cases?|data|accounts?|environment|plan|suite)|unit tests?|analy[sz]\w*|dashboard|kpis?|metrics?|rates?",
    r"trends?|query|sql|fraudsters?|attackers?|scammers?|criminals|bad actors|summar\w*|losses|compliance|gdpr|legal",
    r"legit\w*|suspicious|we suspect|classifier|thieves|abusers|crooks|fraud rings?|bad apples|at scale|for example",
    r"typically|commonly|occurs when|happens when|refers to|is when|(?:types|forms|kinds) of",
    r"(?:found|learned|saw|see|know|shows?|describes?|understand) how|what is|what are|why do|why did",
    r"explain (?:to|the|what|why)|difference between|(?:an|the|our) article (?:for|about|on)|blog|warn\w*",
    r"so (?:the|our) (?:\w+ )?team|so (?:we|agents|the team|analysts|support) can|design controls|controls|testing",
    r"locally|localhost|cache|fix|fixes|fixed|fixing|patch\w*|constraints?",
    r"how (?:a|an|the|this|that) (?:\w+ ){0,3}(?:could|can|would|might|works?)",
    r"(?:cypress|playwright|selenium|jest|pytest|unit|integration|e2e|regression) tests?|expects? (?:a )?\d{3}",
    r"write (?:a |the )?tests?|is (?:that|this|it) a risk|security risk|why does|why is|why are|why would",
    r"why doesn'?t|(?:second|manager'?s?|two ?person|dual|four ?eyes) approval",
    r"allow (?:agents|staff|managers|support|employees|the team)|internal|pickup|wholesale|b2b",
    r"for all (?:orders|customers)|for orders (?:from|over|under|with|in)",
    r"(?:reply|respond|answer|write back|get back) to (?:a|the|this|our|that) customers?",
    r"(?:reply|response|email|message|letter|macro|template) (?:to|for) (?:a|the|this|our|that) customers?|debug\w*",
    r"linter|how (?:do|can|should|could) we (?:verify|check|validate|confirm|handle|respond|stop|tell)",
    r"(?:see|check|find out|know|tell|list) (?:which|whether|if|how many) (?:of )?(?:our|the)|erkenn\w*|verhinder\w*",
    r"aufdeck\w*|schulung\w*|richtlinie\w*|regel|prévenir|empêcher|repérer|signaux|règles?|politique|formation|taux",
    r"prevención|reglas?|política|formación|tasa|analiz\w*|rilev\w*|riconosc\w*|impedire|preven\w*|regola|formazione",
    r"tasso|herkenn\w*|voorkomen|beleid|detectar|impedir|regras?|treinamento|taxa|wykrywa\w*|wykryć|zapobieg\w*",
    r"szkoleni\w*|reguła|regułę|reguły|regułami")
OPS = words(
    r"how (?:do|should) we|should we|do we|we need to|we want to|we must|we have to",
    r"our (?:team|policy|policies|customers?|shop|store|agents?|checkout|system|data|process|warehouse|support)",
    r"wie (?:gehen|sollen|können) wir|comment (?:devons|pouvons)|cómo (?:debemos|podemos)|come (?:dobbiamo|possiamo)",
    r"hoe (?:moeten|kunnen) we|como (?:devemos|podemos)|jak (?:mamy|możemy|powinniśmy)|by accident|accidentally",
    r"by mistake|in error|mistakenly|refund(?:ing)? (?:a|the|this|that|our) customers?",
    r"we (?:have |'ve )?(?:refunded|charged|sent|shipped|cancell?ed|issued|received|got)",
    r"we (?:have |'ve )?noticed|we (?:can'?t|cannot|don'?t|do not|won'?t|will not)|our (?:\w+ )?polic(?:y|ies)",
    r"dear (?:customer|sir|madam|mr|mrs|ms)|evitamos|impedimos|prevenimos|evitiamo|impediamo|evitons|empechons",
    r"verhindern wir|voorkomen we|zapobiegamy")
REPORTS = words(
    r"(?:the |a |our |this )?customers? (?:who |that )?(?:\w+ )?(?:says?|said|claims?|claimed|wants?|asks?|asked|"
    r"called|reports?|reported|returned|sent|filed|disputes?|disputed|used|got|keeps?|threatens?|was|were|has|had)",
    r"(?:klient|klientka|kunde|kundin|klant|client|cliente|le client|la cliente|o cliente|il cliente|el cliente)"
    r" (?:\w+ )?(?:chce|will|möchte|wil|veut|quiere|vuole|quer|sagt|dice|diz|dit|zegt|twierdzi|behauptet|affirme|"
    r"afirma|sostiene|beweert)",
    r"(?:could|can|would|might|does|do|will) (?:a|an|our|the|some) (?:customers?|buyers?|users?|shoppers?|sellers?)",
    r"(?:the |our )?(?:warehouse|courier|carrier|agent|team|driver|bank|acquirer|store|shop|investigator) (?:found|"
    r"says?|said|reported|confirmed|noticed|flagged|received)",
    r"procedure|process for|what'?s the process|(?:she|he) (?:says|said|claims|claimed)|kunde sagt|klant zegt",
    r"le client (?:affirme|dit)|el cliente dice|il cliente dice|o cliente diz|klient twierdzi")
POLICY_QUESTION = words(r"^(?:could|can|would|might|do|does|will) (?:customers|buyers|shoppers|(?:a|an|our|the) "
                        r"(?:customers?|buyers?|shoppers?))")
"""`Can customers get a refund and keep the item when it arrives damaged?`, `Can a customer ...?`: staff asking what
the shop allows, read as a report only where nobody asks or gains and the sentence holds no lie, evasion or someone
else's means (Reader.policy_question): `Can customers ...? Tell me how.` asks for it."""
NOT_POLICY = ("asks", "asks weakly", "gains", "deceit", "claim", "contrast", "gain_weak", "not_mine", "pressure")
"""What makes a policy question's own sentence a request: someone asking or gaining, or a family of cues no policy
question holds (`...without the store noticing?`, `...to get the order for free?`)."""
TAMPERING = ("evasion", "loose")
"""Cues of a control evaded or a request tampered with (`Can buyers change the price to 0 in the checkout request?`):
a request too, unless staff's words are beside it (`We need to know if our API validates it.`): then a developer
asks whether the shop is safe."""

STAFF_NOTES = words(r"bugs?|issues?|reproduc\w*|repro|tickets?|engineer\w*|devs?|developers?|qa|regressions?",
                    r"errors?|error (?:page|message)s?|crash\w*|exceptions?|stack ?traces?")
"""What staff write a bug up as: an order beside a bug report that names one is for the report, and so is a tester's
`If I ...` beside one (`If I enter quantity -3, the total goes negative and I get an error page.`)."""

READINGS = {"object": OBJECT, "asks": ASKS, "asks weakly": ASKS_WEAK, "questions": QUESTION, "gains": PERSONAL,
            "defends": DEFENDS, "ops": OPS, "reports": REPORTS, "policy": POLICY_QUESTION, "staff notes": STAFF_NOTES}
"""Each reading by the name Reader scores it under."""
